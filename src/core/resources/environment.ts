import { z } from 'zod';

export const environmentSpecSchema = z.strictObject({
  description: z.string().optional(),
  /** Production environments get change records and the strictest gates. */
  production: z.boolean().default(false),
  dataSensitivity: z.enum(['public', 'internal', 'confidential', 'restricted']).default('internal'),
  /** IANA time zone used to show and evaluate this environment's windows. */
  timeZone: z.string().optional(),
});
export type EnvironmentSpec = z.infer<typeof environmentSpecSchema>;
