// `berth images` and `berth image import`.
import { credentials, Metadata } from "@grpc/grpc-js";
import { Option } from "commander";
import { resolve } from "node:path";
import { ImagesClient, type ImportImageResponse } from "../../api/generated/berth.js";
import type { RegisterCommand } from "../context.js";
import { humanBytes, parseFormat, shortId, structured, table } from "../output.js";

export const registerImages: RegisterCommand = (program, ctx) => {
  program
    .command("images")
    .description("list images")
    .addOption(new Option("-o, --output <format>", "json, yaml or wide"))
    .action(async (opts: { output?: string }) =>
      ctx.withCri(async (cri) => {
        const format = parseFormat(opts.output);
        const { images } = await cri.images.listImages({});
        if (format === "json" || format === "yaml")
          return void process.stdout.write(structured(images, format));
        const rows = images.flatMap((img) =>
          (img.repoTags.length ? img.repoTags : ["<none>:<none>"]).map((tag) => {
            const i = tag.lastIndexOf(":");
            return [tag.slice(0, i), tag.slice(i + 1), shortId(img.id), humanBytes(Number(img.size))];
          }),
        );
        process.stdout.write(table(["IMAGE", "TAG", "IMAGE ID", "SIZE"], rows));
      }),
    );

  program
    .command("image")
    .description("manage images on this node")
    .command("import <dir>")
    .description("load an OCI image layout directory into berth's image store")
    .option("-t, --tag <name>", "name the image (overrides the layout's annotations)")
    .action(async (dir: string, opts: { tag?: string }) => {
      const client = new ImagesClient(`unix:${ctx.endpoint()}`, credentials.createInsecure());
      try {
        const res = await new Promise<ImportImageResponse>((ok, fail) =>
          client.importImage({ path: resolve(dir), tag: opts.tag ?? "" }, new Metadata(), (err, r) =>
            err ? fail(err) : ok(r),
          ),
        );
        for (const img of res.images) {
          process.stdout.write(`imported ${img.repoTags.join(", ") || "<untagged>"} ${img.id}\n`);
        }
      } finally {
        client.close();
      }
    });
};
