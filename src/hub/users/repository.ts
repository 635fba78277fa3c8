import { and, asc, count, eq, gt, ilike, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../../platform/db/client.js';
import { users } from '../tables.js';

export type UserRow = typeof users.$inferSelect;
export type NewUserRow = typeof users.$inferInsert;

export function createUserRepository(db: Db) {
  return {
    async insert(row: NewUserRow): Promise<UserRow> {
      const [r] = await db.insert(users).values(row).returning();
      return r!;
    },
    async byId(id: string): Promise<UserRow | undefined> {
      const [r] = await db.select().from(users).where(eq(users.id, id));
      return r;
    },
    async byUsername(username: string): Promise<UserRow | undefined> {
      const [r] = await db.select().from(users).where(sql`lower(${users.username}) = lower(${username})`);
      return r;
    },
    async list(f: {
      search?: string | undefined;
      role?: UserRow['role'] | undefined;
      afterId?: string | undefined;
      limit: number;
    }) {
      const where: SQL[] = [];
      if (f.search) where.push(ilike(users.username, `%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`));
      if (f.role) where.push(eq(users.role, f.role));
      if (f.afterId) where.push(gt(users.id, f.afterId));
      return db
        .select()
        .from(users)
        .where(where.length ? and(...where) : undefined)
        .orderBy(asc(users.id))
        .limit(f.limit + 1);
    },
    async update(id: string, patch: Partial<NewUserRow>): Promise<UserRow | undefined> {
      const [r] = await db
        .update(users)
        .set({ ...patch, updatedAt: new Date() })
        .where(eq(users.id, id))
        .returning();
      return r;
    },
    async delete(id: string): Promise<boolean> {
      const r = await db.delete(users).where(eq(users.id, id)).returning({ id: users.id });
      return r.length > 0;
    },
    async countActiveAdmins(): Promise<number> {
      const [r] = await db
        .select({ n: count() })
        .from(users)
        .where(and(eq(users.role, 'admin'), eq(users.disabled, false)));
      return r?.n ?? 0;
    },
    async countAll(): Promise<number> {
      const [r] = await db.select({ n: count() }).from(users);
      return r?.n ?? 0;
    },
  };
}
export type UserRepository = ReturnType<typeof createUserRepository>;
