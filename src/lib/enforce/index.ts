/** Enforcing a schedule on a cache at generation time: the policy and the dynamic scorers it runs. */
export { type SchedulePolicy, scheduleToPolicy } from "./policy.js";
export { selectH2O, selectRecent, selectSnapKV } from "./scorers.js";
