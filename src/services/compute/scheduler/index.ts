export type { HostState, RequestSpec, Scheduler, SchedulerOptions } from './types.js';
export { FilterScheduler } from './filter-scheduler.js';
export * from './filters/index.js';
export * from './weighers/index.js';
