// A small front-end client of the six task endpoints, typed only from the types that
// openapi-typescript generates from openapi_snapshot.json. `npm run check` type-checks
// it: a contract change that would break a front end breaks this file first.
import type { components, operations, paths } from "./generated/api";

type Task = components["schemas"]["TaskResponse"];
type Problem = components["schemas"]["Problem"];
type TaskId = Task["id"];

type Responses<O extends keyof operations> = operations[O]["responses"];
/** The JSON body an operation answers with `status` (a compile error if it has none). */
type Answer<O extends keyof operations, S extends keyof Responses<O>> = Responses<O>[S] extends {
  content: { "application/json": infer Body };
}
  ? Body
  : never;
type Sent<O extends keyof operations> = operations[O] extends {
  requestBody: { content: { "application/json": infer Body } };
}
  ? Body
  : never;
type Query<O extends keyof operations> = NonNullable<operations[O]["parameters"]["query"]>;
type Headers<O extends keyof operations> = NonNullable<operations[O]["parameters"]["header"]>;

const COLLECTION = "/api/{user_id}/tasks" satisfies keyof paths;
const ITEM = "/api/{user_id}/tasks/{task_id}" satisfies keyof paths;

/** A failed call: the API's problem+json (RFC 9457) body. */
export class ApiProblem extends Error {
  constructor(readonly problem: Problem) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`);
  }
}

export class TodoClient {
  constructor(
    private readonly baseUrl: string,
    private readonly userId: string,
    private readonly token: string,
  ) {}

  listTasks(query: Query<"list_tasks"> = {}): Promise<Answer<"list_tasks", 200>> {
    return this.send("GET", COLLECTION, { query });
  }

  createTask(
    task: Sent<"create_task">,
    headers: Headers<"create_task"> = {},
  ): Promise<Answer<"create_task", 201>> {
    return this.send("POST", COLLECTION, { body: task, headers });
  }

  getTask(id: TaskId): Promise<Answer<"get_task", 200>> {
    return this.send("GET", ITEM, { id });
  }

  replaceTask(
    id: TaskId,
    task: Sent<"replace_task">,
    headers: Headers<"replace_task"> = {},
  ): Promise<Answer<"replace_task", 200>> {
    return this.send("PUT", ITEM, { id, body: task, headers });
  }

  updateTask(
    id: TaskId,
    patch: Sent<"update_task">,
    headers: Headers<"update_task"> = {},
  ): Promise<Answer<"update_task", 200>> {
    return this.send("PATCH", ITEM, { id, body: patch, headers });
  }

  /** 204: nothing in the body. */
  deleteTask(
    id: TaskId,
    headers: Headers<"delete_task"> = {},
  ): Promise<Responses<"delete_task">[204]["content"]> {
    return this.send("DELETE", ITEM, { id, headers });
  }

  private async send<T>(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    template: typeof COLLECTION | typeof ITEM,
    options: {
      id?: TaskId;
      query?: Record<string, string | number | undefined>;
      body?: unknown;
      headers?: Record<string, string | undefined>;
    },
  ): Promise<T> {
    const path = template
      .replace("{user_id}", encodeURIComponent(this.userId))
      .replace("{task_id}", encodeURIComponent(options.id ?? ""));
    const url = new URL(path, this.baseUrl);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers = new Headers({ Authorization: `Bearer ${this.token}` });
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers.set(name, value);
    }
    const init: RequestInit = { method, headers };
    if (options.body !== undefined) {
      headers.set("Content-Type", "application/json");
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(url, init);
    if (!response.ok) throw new ApiProblem((await response.json()) as Problem);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}

/** Every endpoint once, reading the fields a front end would show. */
export async function walkThrough(client: TodoClient): Promise<string[]> {
  const created = await client.createTask(
    { title: "Buy milk", description: "Two litres" },
    { "Idempotency-Key": crypto.randomUUID() },
  );
  const page = await client.listTasks({ completed: "false", sort: "-created_at", limit: 20 });
  const fetched = await client.getTask(created.id);
  const replaced = await client.replaceTask(fetched.id, { title: "Buy oat milk", completed: false });
  const done = await client.updateTask(replaced.id, { completed: true, description: null });
  await client.deleteTask(done.id, { "if-match": `"${done.version}"` });
  return [
    `${page.count} open of ${page.tasks.length} shown`,
    `${done.title} completed at ${done.completed_at ?? "never"} (created ${done.created_at})`,
  ];
}
