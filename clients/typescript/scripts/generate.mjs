// Generates src/schema.d.ts from the committed contract (../../openapi_snapshot.json).
// `--check` generates into a temporary file instead and fails when the committed types
// differ, so the types a front end imports never lag behind the contract.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const snapshot = join(here, "..", "..", "openapi_snapshot.json");
const committed = join(here, "src", "schema.d.ts");
const cli = join(here, "node_modules", "openapi-typescript", "bin", "cli.js");

function generate(output) {
  // Fields with a default stay optional in responses too: the types describe what the
  // schema promises, nothing more.
  const flags = ["--default-non-nullable", "false", "--output", output];
  execFileSync(process.execPath, [cli, snapshot, ...flags], { stdio: ["ignore", "ignore", "inherit"] });
}

if (process.argv.includes("--check")) {
  const scratch = mkdtempSync(join(tmpdir(), "todo-api-client-"));
  try {
    const fresh = join(scratch, "schema.d.ts");
    generate(fresh);
    if (readFileSync(fresh, "utf8") !== readFileSync(committed, "utf8")) {
      console.error(
        "clients/typescript/src/schema.d.ts is not what openapi_snapshot.json generates: run `make client`",
      );
      process.exit(1);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
} else {
  generate(committed);
}
