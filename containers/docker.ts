/** Small questions to the Docker engine, asked through its CLI. */
import { runCommand } from './process.ts';

/** Whether the engine has an image by this name or id. */
export async function imageExists(image: string): Promise<boolean> {
  return (await runCommand('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).code === 0;
}
