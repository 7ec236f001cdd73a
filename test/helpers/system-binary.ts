/**
 * The system programs integration suites run for real (Prometheus, HAProxy, NGINX, ansible-playbook,
 * from Debian packages). Which binary: the suite's environment variable (CI exports it, see .ci/run),
 * else the name on PATH, else the package's usual path (also when the variable is just `1`). Without one a suite skips, stating why —
 * except under CI=true, or when the variable names a missing binary: then it fails, because there
 * the suite must run.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'vitest';

export interface SystemBinary {
  /** e.g. `ROLLGATE_TEST_HAPROXY`. */
  envVar: string;
  /** Executable name on PATH, e.g. `haproxy`. */
  name: string;
  /** Where the Debian package puts it, e.g. `/usr/sbin/haproxy`. */
  packagePath: string;
  /** Debian package name. */
  debianPackage: string;
  /** For titles and messages, e.g. `an HAProxy`. */
  article: string;
}

const inCi = /^(true|1)$/i.test(process.env.CI ?? '');

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The binary to use, or why there is none. */
export function findSystemBinary(binary: SystemBinary): { bin: string } | { reason: string } {
  const explicit = process.env[binary.envVar];
  // A path names the binary; `1` only says the suite must run (the binary is found as below).
  if (explicit && explicit !== '1') return executable(explicit) ? { bin: explicit } : { reason: `${binary.envVar}=${explicit} is not an executable file` };
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, binary.name);
    if (executable(candidate)) return { bin: candidate };
  }
  if (executable(binary.packagePath)) return { bin: binary.packagePath };
  return { reason: `${binary.name} was not found (install the Debian package "${binary.debianPackage}", or set ${binary.envVar} to its path)` };
}

/** `describe(name, body(bin))` with the binary; otherwise a skipped suite stating the reason, or a failing one where it must run. */
export function describeWithSystemBinary(binary: SystemBinary, name: string, body: (bin: string) => void): void {
  const found = findSystemBinary(binary);
  if ('bin' in found) {
    describe(name, () => body(found.bin));
    return;
  }
  if (inCi || process.env[binary.envVar]) {
    describe(name, () => {
      it(`has ${binary.article} to run against`, () => {
        throw new Error(`${found.reason} — but ${inCi ? 'CI=true' : `${binary.envVar} is set`}, where these suites must run (.ci/run installs "${binary.debianPackage}" and exports ${binary.envVar})`);
      });
    });
    return;
  }
  describe.skip(`${name} — skipped: ${found.reason}`, () => {
    it(`runs against ${binary.article}`, () => undefined);
  });
}
