/** A delay that does not keep the process alive: the cluster's retry and poll loops must never hold up an exit. */
export const sleep = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
