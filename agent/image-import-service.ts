// berth.v1 Images: imports OCI layouts on the node into the in-process runtime's store.
import { isAbsolute } from "node:path";
import { InvalidArgumentError } from "../common/errors.js";
import type { ImageStore } from "../cri/images/store.js";
import type { ImportImageRequest, ImportImageResponse } from "./api/generated/berth.js";

export class ImageImportService {
  constructor(private readonly store: ImageStore) {}

  async importImage(req: ImportImageRequest): Promise<ImportImageResponse> {
    if (!req.path || !isAbsolute(req.path))
      throw new InvalidArgumentError("path", "must be an absolute path on the node");
    const records = await this.store.importOciLayout(req.path, req.tag ? { tag: req.tag } : {});
    return { images: records.map((r) => ({ id: r.id, repoTags: r.repoTags, size: BigInt(r.size) })) };
  }
}
