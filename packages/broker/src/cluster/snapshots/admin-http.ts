// HTTP admin calls of the snapshot service (on the broker's HTTP port, TRIBUTARY_HTTP_LISTEN):
//   GET  /admin/snapshots                      per hosted Raft group: positions, gauges, snapshots in this node's prefix
//   POST /admin/snapshots/trigger[?raftGroup=N] snapshot every hosted group (or group N) now; answers when done
// `tributary snapshots list|trigger` (admin-cli.ts) calls these.
import type { AdminHandler, AdminResponse } from '../../observability/http-server.js';
import type { SnapshotService } from './snapshot-service.js';

export const SNAPSHOTS_PATH = '/admin/snapshots';
export const TRIGGER_PATH = '/admin/snapshots/trigger';

export function snapshotAdminHandler(service: () => SnapshotService | undefined): AdminHandler {
  return (request) => {
    if (request.path !== SNAPSHOTS_PATH && request.path !== TRIGGER_PATH) return null;
    return answer(service(), request.path, request.method, request.query);
  };
}

async function answer(service: SnapshotService | undefined, path: string, method: string, query: URLSearchParams): Promise<AdminResponse> {
  if (service === undefined) {
    return { status: 404, body: { error: 'snapshots are off on this node (they run in cluster mode with TRIBUTARY_SNAPSHOT_ENABLED=true)' } };
  }
  if (!service.started) return { status: 503, body: { error: 'the snapshot service starts once this node has joined the cluster; retry shortly' } };
  if (path === SNAPSHOTS_PATH) {
    if (method !== 'GET') return { status: 405, body: { error: `use GET ${SNAPSHOTS_PATH}` } };
    return {
      status: 200,
      body: {
        nodeId: service.nodeId,
        writer: service.writer,
        store: service.store.description,
        loopRunning: service.loopRunning,
        caughtUp: service.isCaughtUp(),
        restoringGroups: service.restoringGroups(),
        groups: await service.report(),
      },
    };
  }
  if (method !== 'POST') return { status: 405, body: { error: `use POST ${TRIGGER_PATH}[?raftGroup=N]` } };
  const raw = query.get('raftGroup');
  let raftGroup: number | undefined;
  if (raw !== null) {
    raftGroup = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(raftGroup)) return { status: 400, body: { error: `raftGroup must be a Raft group id, got "${raw}"` } };
    if (!service.hosts(raftGroup)) return { status: 404, body: { error: `Raft group ${raftGroup} is not hosted on node ${service.nodeId}` } };
  }
  const outcomes = await service.trigger(raftGroup);
  const failed = outcomes.some((o) => o.status === 'failed');
  return { status: failed ? 500 : 200, body: { nodeId: service.nodeId, outcomes } };
}
