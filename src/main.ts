import { sizeLibuvThreadPool } from './config/threadpool.js';

// Before any module that could touch libuv's thread pool is loaded.
sizeLibuvThreadPool();
const { start } = await import('./server.js');
await start();
