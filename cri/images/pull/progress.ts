// What a pull reports while it runs, for a CLI to draw: the layers once the manifest is known,
// then each layer's state and bytes as they change, then the stored image.

export type LayerState =
  /** Queued behind other downloads, or behind another pull fetching the same layer. */
  | "waiting"
  | "downloading"
  /** All bytes are in; the last checks run. */
  | "verifying"
  | "unpacking"
  | "done"
  /** The store had it already; nothing was fetched. */
  | "already-exists";

export interface PullResolvedEvent {
  type: "resolved";
  /** The normalized reference being pulled. */
  reference: string;
  /** What the reference resolved to (an index's digest for a multi-platform image). */
  resolvedDigest: string;
  /** The manifest picked for this host's platform. */
  manifestDigest: string;
  /** Bottom layer first. */
  layers: { digest: string; size: number }[];
}

export interface PullLayerEvent {
  type: "layer";
  /** Position in the manifest, bottom layer first. */
  index: number;
  digest: string;
  state: LayerState;
  bytesDone: number;
  bytesTotal: number;
}

export interface PullDoneEvent {
  type: "done";
  reference: string;
  imageId: string;
  elapsedMs: number;
}

export type PullProgressEvent = PullResolvedEvent | PullLayerEvent | PullDoneEvent;

export type PullProgressListener = (event: PullProgressEvent) => void;
