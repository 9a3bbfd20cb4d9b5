// Command lines for the Python client programs (Debian's python3 with python3-confluent-kafka / python3-kafka).
import { join } from 'node:path';
import { clientsDir, systemPython } from './paths.mjs';

export const pythonEnv = { PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' };

export function pythonClient(script, mode, args) {
  return [systemPython, [join(clientsDir, 'python', script), mode, ...args], { env: pythonEnv }];
}
