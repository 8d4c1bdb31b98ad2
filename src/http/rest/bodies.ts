import { z } from 'zod';
import type { CreateContainerInput } from '../../core/containers.js';
import type { ExecInput } from '../../core/exec.js';
import type { WriteFileInput } from '../../core/files.js';
import type { AddUserInput } from '../../core/users.js';
import { parseInput } from '../../core/validation.js';

/*
 * REST bodies mapped to the services' inputs. Only the REST-specific shapes are parsed here;
 * every field is validated by the service itself, so values pass through as they came (the
 * casts below only say so to the compiler).
 */

/** `{"80": "8080"}`, `{"53/udp": 5353}`, `{"80": null}` (any free host port). */
const portsMap = z
  .record(
    z.string().regex(/^\d{1,5}(\/(tcp|udp))?$/, 'keys must be container ports such as "80" or "80/tcp"'),
    z.union([z.string().regex(/^\d{1,5}$/, 'must be a host port number'), z.number(), z.null()]),
  )
  .transform((ports) =>
    Object.entries(ports).map(([key, hostPort]) => {
      const [port, protocol = 'tcp'] = key.split('/');
      return {
        containerPort: Number(port),
        protocol: protocol as 'tcp' | 'udp',
        ...(hostPort === null ? {} : { hostPort: Number(hostPort) }),
      };
    }),
  );

/** `{"/host": "/ctr"}`, or the Docker SDK form `{"/host": {"bind": "/ctr", "mode": "ro"}}`. */
const volumesMap = z
  .record(z.string(), z.union([z.string(), z.object({ bind: z.string(), mode: z.enum(['rw', 'ro']).default('rw') })]))
  .transform((volumes) =>
    Object.entries(volumes).map(([source, target]) =>
      typeof target === 'string' ? { source, target } : { source, target: target.bind, readOnly: target.mode === 'ro' },
    ),
  );

/** Numbers and booleans become their text, as a shell would see them. */
const environmentMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

const createShapes = z.object({
  environment: environmentMap.optional(),
  ports: portsMap.optional(),
  volumes: volumesMap.optional(),
});

export function toCreateContainerInput(body: Record<string, unknown>): CreateContainerInput {
  const { environment, ports, volumes } = parseInput(createShapes, body);
  return { image: body.image, name: body.name, command: body.command, user: body.user, env: environment, ports, volumes } as CreateContainerInput;
}

export const toExecInput = (body: Record<string, unknown>) => ({ command: body.command, user: body.user }) as ExecInput;

/** An empty password meant "none" to the original service. */
export const toAddUserInput = (body: Record<string, unknown>) =>
  ({ username: body.username, password: body.password === '' ? undefined : body.password, shell: body.shell }) as AddUserInput;

export const toWriteFileInput = (body: Record<string, unknown>) => ({ path: body.dest_path, content: body.content }) as WriteFileInput;
