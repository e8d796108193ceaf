// An anonymous render storm, run as a process of its own so that its response handling is not
// the measuring client's: `rate` requests a second (open loop, as many clients would send them)
// over at most `connections` keep-alive connections, cycling through the paths in the JSON file
// (or JSON argument), for `ms` milliseconds. A request that finds every connection busy is not
// sent (counted as `skipped`). Prints the count of each status (and `error`) as one JSON line.
// Used by test/hostile/render-storm.test.ts and bench/storm.ts.
//
//   node scripts/load/storm-client.mjs <base> <ms> <rate> <connections> <paths-json>
import http from 'node:http';

const [base, msText, rateText, connectionsText, pathsJson] = process.argv.slice(2);
const [ms, rate, connections] = [msText, rateText, connectionsText].map(Number);
const paths = JSON.parse(pathsJson);
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const statuses = {};
let next = 0;
let inFlight = 0;
const count = (key) => { statuses[key] = (statuses[key] ?? 0) + 1; };

const send = () => {
  if (inFlight >= connections) return count('skipped');
  inFlight += 1;
  http.get(base + paths[next++ % paths.length], { agent }, (res) => {
    count(res.statusCode);
    res.resume().on('end', () => { inFlight -= 1; });
  }).on('error', () => { inFlight -= 1; count('error'); });
};

const timer = setInterval(send, 1000 / rate);
setTimeout(() => {
  clearInterval(timer);
  const drained = setInterval(() => {
    if (inFlight > 0) return;
    clearInterval(drained);
    console.log(JSON.stringify(statuses));
    agent.destroy();
  }, 50);
}, ms);
