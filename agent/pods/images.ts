// Images for containers, by imagePullPolicy, through the CRI ImageService, with the kubelet's
// events and waiting reasons: ErrImagePull, then ImagePullBackOff while the retry waits (same
// 10 s doubling to 5 min as container restarts), and ErrImageNeverPull.
import type { Clock } from "../../common/clock.js";
import type { Image } from "../../cri/api/generated/api.js";
import type { ImageServiceApi } from "../../cri/service-types.js";
import type { CrashLoopBackOff } from "../backoff.js";
import type { Container } from "../podspec/types.js";
import { isUnimplemented, runtimeErrorMessage } from "../runtime-client.js";

export type ImageEvent = (type: "Normal" | "Warning", reason: string, message: string) => void;

export type ImageOutcome =
  | { readonly ok: true; readonly image?: Image }
  | {
      readonly ok: false;
      readonly reason: "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull";
      readonly message: string;
      /** When a retry may succeed (the backoff's end); absent for ErrImageNeverPull. */
      readonly retryInMs?: number;
    };

export class ImageEnsurer {
  private readonly lastErrors = new Map<string, string>();
  private readonly backoffKeys = new Set<string>();

  constructor(
    private readonly images: ImageServiceApi,
    private readonly backoff: CrashLoopBackOff,
    private readonly clock: Pick<Clock, "now">,
  ) {}

  async ensure(podUid: string, container: Container, event: ImageEvent): Promise<ImageOutcome> {
    const name = container.image;
    const present = await this.status(name);
    if (container.imagePullPolicy === "Never") {
      if (present) return { ok: true, image: present };
      const message = `Container image "${name}" is not present with pull policy of Never`;
      event("Warning", "ErrImageNeverPull", message);
      return { ok: false, reason: "ErrImageNeverPull", message };
    }
    if (container.imagePullPolicy === "IfNotPresent" && present) {
      event("Normal", "Pulled", `Container image "${name}" already present on machine`);
      return { ok: true, image: present };
    }

    const key = `${podUid}/${name}`;
    if (this.backoff.isInBackOff(key)) {
      const message = `Back-off pulling image "${name}"`;
      event("Normal", "BackOff", message);
      const last = this.lastErrors.get(key);
      return {
        ok: false,
        reason: "ImagePullBackOff",
        message: last === undefined ? message : `${message}: ErrImagePull: ${last}`,
        retryInMs: this.backoff.remainingMs(key),
      };
    }
    event("Normal", "Pulling", `Pulling image "${name}"`);
    const started = this.clock.now();
    try {
      await this.images.pullImage({
        image: { image: name, annotations: {}, userSpecifiedImage: name, runtimeHandler: "", imageRef: "" },
      });
      const seconds = ((this.clock.now() - started) / 1000).toFixed(3);
      event(
        "Normal",
        "Pulled",
        `Successfully pulled image "${name}" in ${seconds}s (${seconds}s including waiting)`,
      );
      this.lastErrors.delete(key);
      const pulled = await this.status(name);
      return pulled ? { ok: true, image: pulled } : { ok: true };
    } catch (err) {
      // A runtime that cannot pull (berth without a registry puller) still runs what it has.
      if (isUnimplemented(err) && present) {
        event("Normal", "Pulled", `Container image "${name}" already present on machine`);
        return { ok: true, image: present };
      }
      const detail = runtimeErrorMessage(err);
      this.lastErrors.set(key, detail);
      this.backoffKeys.add(key);
      const delay = this.backoff.next(key);
      event("Warning", "Failed", `Failed to pull image "${name}": ${detail}`);
      event("Warning", "Failed", "Error: ErrImagePull");
      return { ok: false, reason: "ErrImagePull", message: detail, retryInMs: delay };
    }
  }

  /** Forgets a deleted pod's pull backoffs. */
  forgetPod(podUid: string): void {
    const prefix = `${podUid}/`;
    for (const key of this.lastErrors.keys()) if (key.startsWith(prefix)) this.lastErrors.delete(key);
    for (const key of this.backoffKeys) {
      if (!key.startsWith(prefix)) continue;
      this.backoff.forget(key);
      this.backoffKeys.delete(key);
    }
  }

  private async status(name: string): Promise<Image | undefined> {
    const res = await this.images.imageStatus({
      image: { image: name, annotations: {}, userSpecifiedImage: name, runtimeHandler: "", imageRef: "" },
      verbose: false,
    });
    return res.image;
  }
}
