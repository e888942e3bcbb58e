// berth.v1 Images: node-local image operations CRI has no RPC for: importing an OCI layout
// on the node, and pulls that stream per-layer progress (CRI PullImage answers only at the end).
import { isAbsolute } from "node:path";
import { InvalidArgumentError } from "../common/errors.js";
import type { ImageStore } from "../cri/images/store.js";
import type { ImagePuller } from "../cri/images/pull/puller.js";
import type { PullProgressEvent } from "../cri/images/pull/progress.js";
import type {
  ImportImageRequest,
  ImportImageResponse,
  PullImageProgress,
  PullImageRequest,
} from "./api/generated/berth.js";

export class ImagesApi {
  constructor(
    private readonly store: ImageStore,
    private readonly puller: ImagePuller,
  ) {}

  async importImage(req: ImportImageRequest): Promise<ImportImageResponse> {
    if (!req.path || !isAbsolute(req.path))
      throw new InvalidArgumentError("path", "must be an absolute path on the node");
    const records = await this.store.importOciLayout(req.path, req.tag ? { tag: req.tag } : {});
    return { images: records.map((r) => ({ id: r.id, repoTags: r.repoTags, size: BigInt(r.size) })) };
  }

  async *pullImage(req: PullImageRequest, signal?: AbortSignal): AsyncIterable<PullImageProgress> {
    if (!req.image) throw new InvalidArgumentError("image", "must name an image");
    const queue: PullImageProgress[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: unknown;
    const auth = req.username
      ? {
          auth: {
            username: req.username,
            password: req.password,
            auth: "",
            serverAddress: "",
            identityToken: "",
            registryToken: "",
          },
        }
      : {};
    const pull = this.puller
      .pull(req.image, {
        ...auth,
        ...(signal && { signal }),
        onProgress: (event) => {
          queue.push(toMessage(event));
          wake?.();
        },
      })
      .catch((err: unknown) => (failure = err))
      .finally(() => {
        finished = true;
        wake?.();
      });
    while (!finished || queue.length > 0) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    await pull;
    if (failure) throw failure;
  }
}

function toMessage(event: PullProgressEvent): PullImageProgress {
  switch (event.type) {
    case "resolved":
      return {
        event: {
          $case: "resolved",
          value: {
            reference: event.reference,
            resolvedDigest: event.resolvedDigest,
            manifestDigest: event.manifestDigest,
            layers: event.layers.map((l) => ({ digest: l.digest, size: BigInt(l.size) })),
          },
        },
      };
    case "layer":
      return {
        event: {
          $case: "layer",
          value: {
            index: event.index,
            digest: event.digest,
            state: event.state,
            bytesDone: BigInt(event.bytesDone),
            bytesTotal: BigInt(event.bytesTotal),
          },
        },
      };
    case "done":
      return {
        event: {
          $case: "done",
          value: {
            reference: event.reference,
            imageId: event.imageId,
            elapsedMs: BigInt(Math.round(event.elapsedMs)),
          },
        },
      };
  }
}

/** The progress event a CLI renderer expects, from a streamed message. */
export function fromMessage(msg: PullImageProgress): PullProgressEvent | undefined {
  const e = msg.event;
  if (!e) return undefined;
  switch (e.$case) {
    case "resolved":
      return {
        type: "resolved",
        reference: e.value.reference,
        resolvedDigest: e.value.resolvedDigest,
        manifestDigest: e.value.manifestDigest,
        layers: e.value.layers.map((l) => ({ digest: l.digest, size: Number(l.size) })),
      };
    case "layer":
      return {
        type: "layer",
        index: e.value.index,
        digest: e.value.digest,
        state: e.value.state as Extract<PullProgressEvent, { type: "layer" }>["state"],
        bytesDone: Number(e.value.bytesDone),
        bytesTotal: Number(e.value.bytesTotal),
      };
    case "done":
      return {
        type: "done",
        reference: e.value.reference,
        imageId: e.value.imageId,
        elapsedMs: Number(e.value.elapsedMs),
      };
  }
}
