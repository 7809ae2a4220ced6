import { auditLogContract } from '../contracts/audit-log.contract.ts';
import { MemoryAuditLog } from '../fakes/memory-audit-log.ts';

auditLogContract('MemoryAuditLog', (kept) => Promise.resolve(new MemoryAuditLog(kept)));
