/** Small questions to the Docker engine, asked through its CLI. */
import { runCommand } from './process.ts';

/** Whether the engine has an image by this name or id. */
export async function imageExists(image: string): Promise<boolean> {
  return (await runCommand('docker', ['image', 'inspect', '--format', '{{.Id}}', image])).code === 0;
}

/** Whether a Docker engine answers; the message says why not when it does not. */
export async function engineAnswers(): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const result = await runCommand('docker', ['version', '--format', '{{.Server.Version}}']);
    if (result.code === 0) return { ok: true };
    return { ok: false, reason: result.output.trim().split('\n').at(-1) ?? 'docker version failed' };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

/** The image's size in bytes, as `docker image inspect` reports it. */
export async function imageSize(image: string): Promise<number> {
  const result = await runCommand('docker', ['image', 'inspect', '--format', '{{.Size}}', image]);
  if (result.code !== 0) throw new Error(`no image ${image}: ${result.output.trim()}`);
  return Number(result.stdout.trim());
}
