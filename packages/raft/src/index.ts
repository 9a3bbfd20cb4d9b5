export * from './core/types.js';
export * from './core/conf.js';
export { RaftNode, mulberry, type RaftConfig, type ProposeResult, type ReadIndexResult } from './core/raft.js';
