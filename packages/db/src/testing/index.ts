export { createTestDatabase, type TestDatabase, testAdminUrl } from './test-database.ts';
