// Protect and unprotect through `keyward serve` with Node's `http` module (socketPath).
// Usage: KEYWARD_SOCKET=/run/keyward/keyward.sock node client.js [TEXT]
"use strict";
const http = require("http");

const socketPath = process.env.KEYWARD_SOCKET || "/run/keyward/keyward.sock";

function call(path, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const request = http.request(
      {
        socketPath,
        path,
        method: "POST",
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(data) },
      },
      (response) => {
        let text = "";
        response.setEncoding("utf8");
        response.on("data", (chunk) => (text += chunk));
        response.on("end", () => {
          const answer = JSON.parse(text);
          if (response.statusCode === 200) resolve(answer);
          else reject(new Error(`${response.statusCode} ${answer.reason}: ${answer.error}`));
        });
      },
    );
    request.on("error", (error) =>
      reject(new Error(`keyward sidecar is not reachable at ${socketPath}: ${error.message}`)),
    );
    request.end(data);
  });
}

async function main() {
  const text = process.argv[2] || "hello from Node";
  const purposes = ["Orders", "v1"];
  const { payload } = await call("/v1/protect", {
    purposes,
    plaintext: Buffer.from(text).toString("base64"),
  });
  console.log(`payload: ${payload}`);
  const opened = await call("/v1/unprotect", { purposes, payload });
  console.log(`plaintext: ${Buffer.from(opened.plaintext, "base64").toString()}`);
}

main().catch((error) => {
  console.error(error.message);
  process.exit(2);
});
