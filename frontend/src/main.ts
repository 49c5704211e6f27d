/** Entry point: defines every element; index.html holds <parley-app>. */
import "./components/parley-app.ts";
