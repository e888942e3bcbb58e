// The pod manager's front ends as the daemon starts them: the berth.v1 Node service on the
// agent's gRPC socket, and the static pods folder watcher.
import type { Logger } from "../../common/logger.js";
import { bindService, type RpcObserver } from "../../cri/grpc-binding.js";
import type { ServiceBinding } from "../../cri/grpc-server.js";
import type { RuntimeServiceApi } from "../../cri/service-types.js";
import { RUNTIME_VERSION } from "../../cri/runtime/runtime-service.js";
import { NodeService as NodeServiceDefinition } from "../api/generated/berth.js";
import type { PodManagerApi } from "../pods/pod-manager-api.js";
import { StaticPodsWatcher } from "../static-pods/static-pods-watcher.js";
import { collectNodeInfo, readHostFacts } from "./node-info.js";
import { NodeService } from "./node-service.js";

export interface NodeApiDeps {
  pods: PodManagerApi;
  /** Node readiness comes from the runtime's Status conditions. */
  runtimeService: Pick<RuntimeServiceApi, "status">;
  logger: Logger;
  observe?: RpcObserver;
  /** The node's name as the pod manager knows it (config.nodeName). */
  nodeName?: string;
}

/** berth.v1.Node, ready for startGrpcServer. */
export function nodeServiceBinding(deps: NodeApiDeps): ServiceBinding {
  const service = new NodeService({
    pods: deps.pods,
    logger: deps.logger.child({ component: "node-api" }),
    nodeInfo: () =>
      collectNodeInfo({
        host: () => readHostFacts(),
        runtimeStatus: () => deps.runtimeService.status({ verbose: false }),
        podCount: () => deps.pods.list().length,
        berthVersion: RUNTIME_VERSION,
        ...(deps.nodeName !== undefined && { nodeName: deps.nodeName }),
      }),
  });
  return {
    definition: NodeServiceDefinition,
    implementation: bindService("berth.v1.Node", NodeServiceDefinition, service, deps.logger, deps.observe),
  };
}

/** Applies the static manifests folder's pods, then follows the folder until stop(). */
export async function startStaticPods(
  dir: string,
  pods: PodManagerApi,
  logger: Logger,
): Promise<StaticPodsWatcher> {
  const watcher = new StaticPodsWatcher({ dir, pods, logger: logger.child({ component: "static-pods" }) });
  await watcher.start();
  return watcher;
}
