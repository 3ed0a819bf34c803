/** One Temporal client per namespace over a shared connection, made on first use (anchors live in the session's namespace). */
import { Client, type ConnectionLike } from '@temporalio/client';

export class NamespaceClients {
  private readonly clients = new Map<string, Client>();

  constructor(private readonly connection: ConnectionLike) {}

  get(namespace: string): Client {
    let client = this.clients.get(namespace);
    if (!client) {
      client = new Client({ connection: this.connection, namespace });
      this.clients.set(namespace, client);
    }
    return client;
  }
}
