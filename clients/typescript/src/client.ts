// A typed client of todo-api for front ends. The types come from the committed contract
// (src/schema.d.ts, generated from openapi_snapshot.json by `make client`); the calls go
// through openapi-fetch, so a path, parameter or field the contract lacks is a compile
// error, and every answer is typed by its status.
import createClient from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type Task = components["schemas"]["TaskResponse"];
export type TaskPage = components["schemas"]["TaskListResponse"];
export type NewTask = components["schemas"]["TaskCreate"];
export type TaskReplacement = components["schemas"]["TaskUpdate"];
export type TaskChanges = components["schemas"]["TaskPatch"];
export type ListQuery = NonNullable<operations["list_tasks"]["parameters"]["query"]>;
export type Problem = components["schemas"]["Problem"];

const COLLECTION = "/api/{user_id}/tasks";
const ITEM = "/api/{user_id}/tasks/{task_id}";

/** A refused call: the API's problem+json body (RFC 9457). `detail` is for people,
 * `code` for programs (AUTH_INVALID: sign in again). */
export class ApiProblem extends Error {
  constructor(
    readonly problem: Problem,
    readonly status: number,
  ) {
    super(problem.detail);
    this.name = "ApiProblem";
  }
}

export interface TodoApiOptions {
  /** Where the API is, e.g. process.env.NEXT_PUBLIC_API_URL. */
  baseUrl: string;
  /** The signed-in user's id: the token's `sub` (or `user_id`). */
  userId: string;
  /** A current JWT, e.g. from Better Auth's `authClient.token()`. */
  getToken: () => string | Promise<string>;
  fetch?: typeof globalThis.fetch;
}

/** An If-Match value for a task as last read: write only if nobody changed it since. */
export const ifMatch = (task: Pick<Task, "version">): string => `"${task.version}"`;

export function createTodoApi({ baseUrl, userId, getToken, fetch }: TodoApiOptions) {
  const client = createClient<paths>({ baseUrl, ...(fetch ? { fetch } : {}) });
  client.use({
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${await getToken()}`);
      return request;
    },
  });
  const owner = { user_id: userId };
  const item = (id: Task["id"]) => ({ user_id: userId, task_id: id });

  return {
    /** One page of the caller's tasks (100 by default), newest first unless `sort`. */
    async list(query: ListQuery = {}): Promise<TaskPage> {
      return answer(await client.GET(COLLECTION, { params: { path: owner, query } }));
    },
    /** 201: the new task. The same `idempotencyKey` on a retry never makes a second one. */
    async create(task: NewTask, idempotencyKey?: string): Promise<Task> {
      const header = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {};
      return answer(await client.POST(COLLECTION, { params: { path: owner, header }, body: task }));
    },
    async get(id: Task["id"]): Promise<Task> {
      return answer(await client.GET(ITEM, { params: { path: item(id) } }));
    },
    /** PUT: the whole task; omitted optional fields go back to their defaults. */
    async replace(id: Task["id"], task: TaskReplacement, expected?: Task): Promise<Task> {
      const header = expected ? { "if-match": ifMatch(expected) } : {};
      return answer(await client.PUT(ITEM, { params: { path: item(id), header }, body: task }));
    },
    /** PATCH: only the fields given change; `null` clears a nullable one. */
    async update(id: Task["id"], changes: TaskChanges, expected?: Task): Promise<Task> {
      const header = expected ? { "if-match": ifMatch(expected) } : {};
      return answer(await client.PATCH(ITEM, { params: { path: item(id), header }, body: changes }));
    },
    /** The checkbox: flips `completed`, unless someone changed the task meanwhile (412). */
    async toggle(task: Task): Promise<Task> {
      return this.update(task.id, { completed: !task.completed }, task);
    },
    /** 204, nothing to read. */
    async remove(id: Task["id"]): Promise<void> {
      const { error, response } = await client.DELETE(ITEM, { params: { path: item(id) } });
      if (error !== undefined) throw new ApiProblem(error, response.status);
    },
  };
}

export type TodoApi = ReturnType<typeof createTodoApi>;

function answer<T>(
  result: { data: T; error?: never; response: Response } | { data?: never; error: Problem; response: Response },
): T {
  if (result.error !== undefined) throw new ApiProblem(result.error, result.response.status);
  return result.data;
}
