// A helper process that carries bytes between its stdio and a socket Node cannot open
// itself: conmon's attach sockets are SOCK_SEQPACKET (Node's net speaks only stream
// sockets), and a pod's ports live in its network namespace (Node cannot setns, so the
// helper runs under `nsenter --net`). The helper is a short Perl program: perl-base is
// Essential on Debian, so it is on every host berth runs on, unlike socat or python3.
//
// Two modes:
// - seqpacket DIR: connects to DIR/attach (relative, so long paths never hit the 108-byte
//   sun_path limit). It first writes an empty frame (connected), then each message it
//   receives as a frame: 32-bit big-endian length + the message. stdin is sent as
//   messages; stdin EOF shuts the socket's write side (conmon then closes the
//   container's stdin).
// - tcp PORT: connects to 127.0.0.1 (then ::1) and copies raw bytes both ways; stdin EOF
//   becomes a half-close, the peer's EOF ends the helper. A failure to connect is one line
//   on stderr and a non-zero exit status.
import { spawn, type ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";

const BRIDGE_SCRIPT = String.raw`
use strict;
use warnings;
use Socket qw(AF_UNIX AF_INET AF_INET6 SOCK_SEQPACKET SOCK_STREAM SHUT_WR pack_sockaddr_un pack_sockaddr_in pack_sockaddr_in6 inet_aton inet_pton);
$SIG{PIPE} = 'IGNORE';
my ($mode, $target) = @ARGV;
my $sock;
my $framed = 0;
if ($mode eq 'seqpacket') {
  chdir $target or die "cannot enter $target: $!\n";
  socket($sock, AF_UNIX, SOCK_SEQPACKET, 0) or die "socket: $!\n";
  connect($sock, pack_sockaddr_un('attach')) or die "cannot connect to the attach socket in $target: $!\n";
  $framed = 1;
} elsif ($mode eq 'tcp') {
  my $port = int($target);
  socket($sock, AF_INET, SOCK_STREAM, 0) or die "socket: $!\n";
  if (!connect($sock, pack_sockaddr_in($port, inet_aton('127.0.0.1')))) {
    my $v4 = "$!";
    close($sock);
    socket($sock, AF_INET6, SOCK_STREAM, 0) or die "connect to 127.0.0.1:$port: $v4\n";
    connect($sock, pack_sockaddr_in6($port, inet_pton(AF_INET6, '::1'))) or die "connect to 127.0.0.1:$port: $v4\n";
  }
} else {
  die "unknown mode $mode\n";
}
sub out {
  my ($data) = @_;
  my $off = 0;
  while ($off < length($data)) {
    my $n = syswrite(STDOUT, $data, length($data) - $off, $off);
    if (!defined $n) { next if $!{EINTR}; exit 0; }
    $off += $n;
  }
}
out(pack('N', 0)) if $framed;
my $stdin_open = 1;
while (1) {
  my $rin = '';
  vec($rin, fileno($sock), 1) = 1;
  vec($rin, fileno(STDIN), 1) = 1 if $stdin_open;
  my $n = select(my $rout = $rin, undef, undef, undef);
  if ($n < 0) { next if $!{EINTR}; die "select: $!\n"; }
  if (vec($rout, fileno($sock), 1)) {
    my $buf;
    my $r = sysread($sock, $buf, 65536);
    if (!defined $r) { next if $!{EINTR}; exit 0; }
    last if $r == 0;
    out($framed ? pack('N', $r) . $buf : $buf);
  }
  if ($stdin_open && vec($rout, fileno(STDIN), 1)) {
    my $buf;
    my $r = sysread(STDIN, $buf, $framed ? 8192 : 65536);
    if (!defined $r) { next if $!{EINTR}; $r = 0; }
    if ($r == 0) { $stdin_open = 0; shutdown($sock, SHUT_WR); next; }
    my $off = 0;
    while ($off < $r) {
      my $w = syswrite($sock, $buf, $r - $off, $off);
      if (!defined $w) { next if $!{EINTR}; exit 0; }
      $off += $w;
    }
  }
}
exit 0;
`;

export interface BridgeOptions {
  perlBinary: string;
  /** Runs the helper in this network namespace (through nsenter). */
  netnsPath?: string;
  nsenterBinary?: string;
}

export type BridgeProcess = ChildProcessByStdio<Writable, Readable, Readable>;

export function spawnBridge(mode: "seqpacket" | "tcp", target: string, opts: BridgeOptions): BridgeProcess {
  const perlArgs = ["-e", BRIDGE_SCRIPT, mode, target];
  const [command, args] = opts.netnsPath
    ? [opts.nsenterBinary ?? "/usr/bin/nsenter", [`--net=${opts.netnsPath}`, opts.perlBinary, ...perlArgs]]
    : [opts.perlBinary, perlArgs];
  return spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
}

/** Splits the seqpacket mode's output back into messages. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const messages: Buffer[] = [];
    let offset = 0;
    while (this.buffer.length - offset >= 4) {
      const length = this.buffer.readUInt32BE(offset);
      if (this.buffer.length - offset - 4 < length) break;
      messages.push(this.buffer.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    this.buffer = this.buffer.subarray(offset);
    return messages;
  }
}
