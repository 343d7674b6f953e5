// eslint for the page modules (static/*.js, browser ES modules) and the build scripts (Node).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "static/vendor/"] },
  js.configs.recommended,
  {
    files: ["static/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
    rules: {
      // Our own modules share through import/export, never through `window`.
      "no-restricted-properties": [
        "error",
        { object: "window", property: "golive", message: "import from app.js instead" },
        { object: "window", property: "LivekitClient", message: 'import "livekit-client" instead' },
      ],
      "no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["scripts/**/*.mjs", "eslint.config.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
  },
];
