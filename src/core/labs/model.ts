import type { LabEntry, StudentEntry, TokenEntry } from '../../store/labs.js';
import { containerNameOf, type LabTemplate } from './template.js';

export const LAB_STATES = ['ACTIVE', 'STOPPED', 'EXPIRED'] as const;
export type LabState = (typeof LAB_STATES)[number];
export const STUDENT_STATES = ['PENDING', 'PROVISIONING', 'READY', 'FAILED'] as const;
export type StudentState = (typeof STUDENT_STATES)[number];
export const PROVISION_STEPS = ['CONTAINER', 'ACCOUNTS', 'FILES', 'SETUP'] as const;
export type ProvisionStep = (typeof PROVISION_STEPS)[number];

/** States a student's provisioning has not ended in: a start resumes them. */
export const UNSETTLED: readonly StudentState[] = ['PENDING', 'PROVISIONING'];
export const isUnsettled = (state: string) => UNSETTLED.includes(state as StudentState);

export interface Lab {
  name: string;
  template: LabTemplate;
  state: LabState;
  createdAt: Date;
  expiresAt: Date;
}

export interface Student {
  lab: string;
  id: string;
  displayName: string;
  state: StudentState;
  reason: string | null;
  /** The step it is at while provisioning. */
  step: ProvisionStep | null;
  containerName: string;
}

export interface TokenInfo {
  id: string;
  lab: string;
  student: string;
  createdAt: Date;
  revokedAt: Date | null;
}

/** A student as locks and maps know them: `lab/student`. */
export const keyOf = (student: { lab: string; id: string }) => `${student.lab}/${student.id}`;

export const toLab = (entry: LabEntry): Lab => ({
  name: entry.name,
  template: entry.template as LabTemplate,
  state: entry.state as LabState,
  createdAt: entry.createdAt,
  expiresAt: entry.expiresAt,
});

export const toStudent = (entry: Pick<StudentEntry, 'lab' | 'id' | 'displayName' | 'state' | 'reason'>, step: ProvisionStep | null): Student => ({
  lab: entry.lab,
  id: entry.id,
  displayName: entry.displayName,
  state: entry.state as StudentState,
  reason: entry.reason,
  step,
  containerName: containerNameOf(entry),
});

/** A token as it may be shown: never its hash. */
export const toTokenInfo = (t: TokenEntry): TokenInfo => ({ id: t.id, lab: t.lab, student: t.student, createdAt: t.createdAt, revokedAt: t.revokedAt });
