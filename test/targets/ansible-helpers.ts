/**
 * Which ansible-playbook the Ansible suites run: ROLLGATE_TEST_ANSIBLE (CI exports it, see .ci/run),
 * else `ansible-playbook` on PATH, else /usr/bin/ansible-playbook (Debian package `ansible`).
 * Without one the suites skip, stating why, except under CI=true (or when ROLLGATE_TEST_ANSIBLE
 * names a missing file), where they fail — as the Prometheus and PostgreSQL suites do.
 */
import { describeWithSystemBinary, findSystemBinary, type SystemBinary } from '../helpers/system-binary.js';

const BINARY: SystemBinary = { envVar: 'ROLLGATE_TEST_ANSIBLE', name: 'ansible-playbook', packagePath: '/usr/bin/ansible-playbook', debianPackage: 'ansible', article: 'ansible-playbook' };

/** The binary to use, or why there is none. */
export const findAnsiblePlaybook = () => findSystemBinary(BINARY);

/** `describe(name, body)` with the binary; otherwise skipped with the reason, or failing where it must run. */
export const describeWithAnsible = (name: string, body: (bin: string) => void): void => describeWithSystemBinary(BINARY, name, body);
