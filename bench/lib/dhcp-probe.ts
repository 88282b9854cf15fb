/**
 * A DHCP client that only measures: run inside a guest namespace as
 * `node dhcp-probe.js <mac> <timeout-ms>`, it broadcasts a DISCOVER for that MAC every 25 ms
 * until an OFFER answers it, then prints `<epoch ms of the offer> <offered address>`.
 * busybox udhcpc retries only once a second, too coarse to time a dataplane.
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

const [mac = '', timeoutText = '30000'] = process.argv.slice(2);
if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) {
  process.stderr.write('usage: dhcp-probe <mac> [timeout-ms]\n');
  process.exit(2);
}

function discover(xid: Buffer): Buffer {
  const packet = Buffer.alloc(300);
  packet[0] = 1; // BOOTREQUEST
  packet[1] = 1; // Ethernet
  packet[2] = 6;
  xid.copy(packet, 4);
  packet.writeUInt16BE(0x8000, 10); // broadcast the answer: we have no address yet
  Buffer.from(mac.split(':').map((h) => parseInt(h, 16))).copy(packet, 28);
  packet.writeUInt32BE(0x63825363, 236); // magic cookie
  Buffer.from([53, 1, 1, 55, 3, 1, 3, 6, 255]).copy(packet, 240); // DISCOVER, ask for mask, router, dns
  return packet;
}

const xid = randomBytes(4);
const socket = createSocket({ type: 'udp4', reuseAddr: true });
socket.on('message', (message) => {
  if (message.length < 240 || message[0] !== 2 || !message.subarray(4, 8).equals(xid)) return;
  const offered = [...message.subarray(16, 20)].join('.');
  process.stdout.write(`${Date.now()} ${offered}\n`);
  process.exit(0);
});
socket.bind(68, () => {
  socket.setBroadcast(true);
  const send = () => socket.send(discover(xid), 67, '255.255.255.255');
  send();
  setInterval(send, 25);
  setTimeout(() => {
    process.stderr.write('no offer\n');
    process.exit(1);
  }, Number(timeoutText));
});
