// Better Auth test server (memory adapter + jwt plugin) for the Python interop tests.
import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { createJwk, jwt } from "better-auth/plugins/jwt";

const HOST = "127.0.0.1";
const SECRET =
  process.env.BETTER_AUTH_SECRET ?? "todo-api-interop-test-secret-0123456789abcdef";
// Default options: EdDSA / Ed25519 keys, 15 minute tokens, iss = aud = baseURL.
const JWT_OPTIONS = {};

// In-memory database; the jwt plugin keeps its signing keys in `jwks`.
const db = { user: [], session: [], account: [], verification: [], jwks: [] };

const server = http.createServer();

server.listen(Number(process.env.PORT ?? 0), HOST, () => {
  const baseURL = `http://${HOST}:${server.address().port}`;
  const auth = betterAuth({
    baseURL,
    secret: SECRET,
    database: memoryAdapter(db),
    emailAndPassword: { enabled: true, requireEmailVerification: false },
    plugins: [jwt(JWT_OPTIONS)],
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
  });
  const authHandler = toNodeHandler(auth);

  // Signing-key rotation as the plugin does it when `jwks.rotationInterval`
  // elapses: the live keys expire (they stay in JWKS for the grace period)
  // and a fresh key pair is minted; the newest live key signs from now on.
  // `retire`: the old keys expire long enough ago that their grace period is
  // over too, so they leave the JWKS at once (a revoked or compromised key).
  async function rotateKeys(res, retire) {
    const ctx = { context: await auth.$context };
    const now = retire ? new Date(0) : new Date();
    for (const key of db.jwks) {
      if (!key.expiresAt || key.expiresAt > now || retire) {
        await ctx.context.adapter.update({
          model: "jwks",
          where: [{ field: "id", value: key.id }],
          update: { expiresAt: now },
        });
      }
    }
    const key = await createJwk(ctx, JWT_OPTIONS);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ kid: key.id, keys: db.jwks.map((k) => k.id) }));
  }

  server.on("request", (req, res) => {
    if (req.method === "POST" && req.url?.startsWith("/test/rotate-keys")) {
      rotateKeys(res, req.url.endsWith("?retire=1")).catch((err) => {
        console.error(err);
        res.writeHead(500).end(String(err));
      });
      return;
    }
    if (req.url?.startsWith("/api/auth")) return authHandler(req, res);
    res.writeHead(404).end();
  });

  console.log(`READY ${baseURL}`);
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
