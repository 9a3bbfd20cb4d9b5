// Manual replica assignments of CreateTopics (`kafka-topics --replica-assignment`, kafkajs `replicaAssignment`),
// checked by Apache Kafka's rules: with assignments the request leaves numPartitions and replicationFactor at -1;
// partitions are numbered 0..n-1, each lists distinct registered brokers, all the same number of them. The first
// replica of each list is the partition's preferred leader (ElectLeaders PREFERRED and the balancer move leadership
// to it).
import type { TopicErrorName } from './topic-service.js';

export interface RequestedAssignment {
  readonly partitionIndex: number;
  readonly brokerIds: readonly number[];
}

export type AssignmentCheck =
  | { ok: true; replicasByPartition: number[][] }
  | { ok: false; error: TopicErrorName; message: string };

/**
 * `assignments` non-empty: the replicas of each partition (index = partition), or the Kafka error refusing them.
 * `registeredBrokerIds`: the brokers a replica may be on (single node: the node itself).
 */
export function checkReplicaAssignments(
  assignments: readonly RequestedAssignment[],
  numPartitions: number,
  replicationFactor: number,
  registeredBrokerIds: readonly number[],
): AssignmentCheck {
  if (numPartitions !== -1 || replicationFactor !== -1) {
    return {
      ok: false,
      error: 'INVALID_REQUEST',
      message: `replica assignments were given with numPartitions ${numPartitions} and replicationFactor ${replicationFactor}; both must be -1`,
    };
  }
  const refuse = (message: string): AssignmentCheck => ({ ok: false, error: 'INVALID_REPLICA_ASSIGNMENT', message });
  const registered = new Set(registeredBrokerIds);
  const byPartition = new Map<number, readonly number[]>();
  for (const a of assignments) {
    if (byPartition.has(a.partitionIndex)) return refuse(`partition ${a.partitionIndex} is assigned twice`);
    byPartition.set(a.partitionIndex, a.brokerIds);
  }
  const replicasByPartition: number[][] = [];
  for (let partition = 0; partition < assignments.length; partition++) {
    const brokerIds = byPartition.get(partition);
    if (brokerIds === undefined) return refuse(`partitions must be numbered 0..${assignments.length - 1}; partition ${partition} is missing`);
    if (brokerIds.length === 0) return refuse(`partition ${partition} has no replica`);
    if (new Set(brokerIds).size !== brokerIds.length) return refuse(`partition ${partition} lists a broker twice: [${brokerIds.join(', ')}]`);
    const unknown = brokerIds.filter((id) => !registered.has(id));
    if (unknown.length > 0) return refuse(`partition ${partition}: broker(s) ${unknown.join(', ')} not registered (brokers: ${[...registered].join(', ')})`);
    if (brokerIds.length !== byPartition.get(0)!.length) {
      return refuse(`every partition needs the same number of replicas: partition 0 has ${byPartition.get(0)!.length}, partition ${partition} has ${brokerIds.length}`);
    }
    replicasByPartition.push([...brokerIds]);
  }
  return { ok: true, replicasByPartition };
}
