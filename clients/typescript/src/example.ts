// The front end's five calls through the client, in the order a person causes them:
// add a task, see the list, open one, tick its checkbox, delete it. The test suite runs
// this against a real server (tests/test_typescript_client.py).
import { ApiProblem, createTodoApi } from "./client.js";

export async function fiveCalls(baseUrl: string, userId: string, token: string) {
  const api = createTodoApi({ baseUrl, userId, getToken: () => token });

  const created = await api.create({ title: "Buy milk", description: "Two litres" }, crypto.randomUUID());
  const page = await api.list();
  const opened = await api.get(created.id);
  const toggled = await api.toggle(opened);
  await api.remove(toggled.id);

  let afterDelete: ApiProblem | undefined;
  try {
    await api.get(toggled.id);
  } catch (error) {
    if (!(error instanceof ApiProblem)) throw error;
    afterDelete = error;
  }
  return {
    created: created.title,
    listed: page.tasks.map((task) => task.id).includes(created.id),
    count: page.count,
    opened: opened.id === created.id,
    completed: toggled.completed,
    afterDelete: afterDelete && { status: afterDelete.status, code: afterDelete.problem.code },
  };
}
