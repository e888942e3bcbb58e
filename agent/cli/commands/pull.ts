// `berth pull IMAGE`: pulls through the agent with a progress bar per layer on a terminal
// and plain lines otherwise.
import { credentials } from "@grpc/grpc-js";
import { promisify, unixTarget } from "../../../cri/grpc-target.js";
import {
  ImagesClient,
  ImagesService,
  type PullImageProgress,
  type PullImageRequest,
} from "../../api/generated/berth.js";
import { fromMessage } from "../../images-api.js";
import type { RegisterCommand } from "../context.js";
import { createPullProgress } from "../pull-progress.js";

interface ImagesStreams {
  pullImage(req: PullImageRequest, signal?: AbortSignal): AsyncIterable<PullImageProgress>;
}

export const registerPull: RegisterCommand = (program, ctx) => {
  program
    .command("pull")
    .description("pull an image from its registry into the node's store")
    .argument("<image>", 'a reference such as "busybox", "registry:5000/app:1" or "app@sha256:..."')
    .option("--creds <user:password>", "registry credentials (otherwise the node's config)")
    .option("-q, --quiet", "print only the image id")
    .action(async (image: string, opts: { creds?: string; quiet?: boolean }) => {
      const client = new ImagesClient(unixTarget(ctx.endpoint()), credentials.createInsecure());
      const api = promisify<ImagesStreams>(client, ImagesService, 3_600_000);
      const [username = "", password = ""] = opts.creds ? splitCreds(opts.creds) : [];
      const progress = opts.quiet ? undefined : createPullProgress(process.stdout);
      const abort = new AbortController();
      process.once("SIGINT", () => abort.abort());
      let imageId = "";
      try {
        for await (const msg of api.pullImage({ image, username, password }, abort.signal)) {
          const event = fromMessage(msg);
          if (!event) continue;
          if (event.type === "done") imageId = event.imageId;
          progress?.update(event);
        }
      } finally {
        progress?.finish();
        client.close();
      }
      if (opts.quiet) process.stdout.write(`${imageId}\n`);
    });
};

function splitCreds(creds: string): [string, string] {
  const i = creds.indexOf(":");
  return i < 0 ? [creds, ""] : [creds.slice(0, i), creds.slice(i + 1)];
}
