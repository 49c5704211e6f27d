/**
 * JSON-lines logging (pino). Authorization headers, cookies and tokens are redacted by path,
 * and nothing in the code logs a request's credentials to begin with.
 */
import pino from "pino";

export type Logger = pino.Logger;

export function createLogger(service: string, level = "info"): Logger {
  return pino({
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        "token",
        "*.token",
        "password",
        "*.password",
        "headers.authorization",
        "headers.cookie",
        "*.headers.authorization",
        "*.headers.cookie",
      ],
      censor: "[redacted]",
    },
    formatters: { level: (label) => ({ level: label }) },
  });
}
