/**
 * Which ansible-playbook the Ansible suites run: ROLLGATE_TEST_ANSIBLE (CI exports it, see .ci/run),
 * else `ansible-playbook` on PATH, else /usr/bin/ansible-playbook (Debian package `ansible`).
 * Without one the suites skip, stating why, except under CI=true (or when ROLLGATE_TEST_ANSIBLE
 * names a missing file), where they fail — as the Prometheus and PostgreSQL suites do.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';

const inCi = /^(true|1)$/i.test(process.env.CI ?? '');

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findAnsiblePlaybook(): { bin: string } | { reason: string } {
  const explicit = process.env.ROLLGATE_TEST_ANSIBLE;
  if (explicit) {
    return executable(explicit) ? { bin: explicit } : { reason: `ROLLGATE_TEST_ANSIBLE=${explicit} is not an executable file` };
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'ansible-playbook');
    if (executable(candidate)) return { bin: candidate };
  }
  if (executable('/usr/bin/ansible-playbook')) return { bin: '/usr/bin/ansible-playbook' };
  return { reason: 'ansible-playbook was not found (install the Debian package "ansible", or set ROLLGATE_TEST_ANSIBLE to its path)' };
}

/** `body(bin)` inside `describe(name)` when ansible-playbook exists; otherwise a skipped suite with the reason, or a failing one in CI. */
export function describeWithAnsible(name: string, body: (bin: string) => void): void {
  const found = findAnsiblePlaybook();
  if ('bin' in found) {
    describe(name, () => body(found.bin));
    return;
  }
  if (inCi || process.env.ROLLGATE_TEST_ANSIBLE) {
    describe(name, () => {
      it('has ansible-playbook to run', () => {
        throw new Error(`${found.reason} — but ${inCi ? 'CI=true' : 'ROLLGATE_TEST_ANSIBLE is set'}, where the Ansible suites must run (.ci/run installs the package and exports ROLLGATE_TEST_ANSIBLE)`);
      });
    });
    return;
  }
  describe.skip(`${name} — skipped: ${found.reason}`, () => {
    it('runs real playbooks', () => undefined);
  });
}
