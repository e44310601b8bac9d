export { Leadership } from './leadership.service';
export { StandbyGuard } from './standby.guard';
export { LeaderLease, FEDERATION_LEASE, type LeaseState } from './leader-lease';
