// @tributary/raft — a Raft consensus library that knows nothing of Kafka.
export * from './core/types.js';
export * from './core/conf.js';
export { RaftNode, mulberry, type RaftConfig, type ProposeResult, type ReadIndexResult } from './core/raft.js';
export { MemoryStorage, bootstrapState, type RaftStorage } from './storage/storage.js';
export { FileWal, FileRaftStorage, WalCorruptError, type FileWalOptions } from './storage/file-wal.js';
export { RaftHost, type RaftHostOptions, type GroupStateMachine, type CommitResult, type TrackedProposal } from './host/raft-host.js';
export type { RaftTransport } from './transport/transport.js';
export { TcpTransport, type TcpTransportOptions } from './transport/tcp-transport.js';
export { MemoryNetwork, MemoryTransport, type MemoryNetworkFaults } from './transport/memory-transport.js';
export { encodeBatch, decodeBatch, CodecError, type GroupMessage } from './transport/codec.js';
export { runSimulation, type SimOptions, type SimResult } from './sim/simulator.js';
