// Runs the compiled src/example.ts: node scripts/run-example.mjs BUILD_DIR BASE_URL USER_ID TOKEN
// and prints what the five calls saw, as JSON.
import { pathToFileURL } from "node:url";
import { join } from "node:path";

const [buildDir, baseUrl, userId, token] = process.argv.slice(2);
const { fiveCalls } = await import(pathToFileURL(join(buildDir, "example.js")).href);
console.log(JSON.stringify(await fiveCalls(baseUrl, userId, token)));
