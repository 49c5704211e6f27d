/** Connects a Lit element to the store: it re-renders whenever the store changes. */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import { store, type Store } from "./store.ts";

export class StoreController implements ReactiveController {
  readonly store: Store = store;
  private readonly onChange = () => this.host.requestUpdate();
  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }
  hostConnected(): void {
    this.store.addEventListener("change", this.onChange);
  }
  hostDisconnected(): void {
    this.store.removeEventListener("change", this.onChange);
  }
}
