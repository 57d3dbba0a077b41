# bosun's `expect`: pexpect.run(command, events=responses, timeout, echo) with nothing
# but perl-base (Essential on Debian). Reads its job from stdin as netstrings
# ("LEN:BYTES,"): timeout ("" for none), echo (0/1), argc, argv..., the number of
# events, then per event its Perl pattern, whether its answers are a list (1/0), their
# count and the answers. Runs argv[0] on a new pseudo-terminal (24x80, echo off unless
# asked), answers each prompt as pexpect does (the earliest match in the buffer; on a
# tie, the first event), and prints everything the command wrote on stdout; its last
# line on stderr says how it ended: "exit N", "signal N", "timeout", "nomore I" (list
# I ran out: stdout is then the text that matched), "notfound" or "error MESSAGE".
use strict;
use warnings;
use POSIX ();
use Fcntl qw(O_RDWR O_NOCTTY);

binmode STDIN;
binmode STDOUT;
$| = 1;

sub done {
    print STDERR "\n", $_[0], "\n";
    exit 0;
}

my $job = do { local $/; <STDIN> };
my @fields;
while (length $job) {
    $job =~ s/\A(\d+)://s or done("error malformed job");
    push @fields, substr($job, 0, $1);
    $job = substr($job, $1 + 1);
}
my $timeout = shift @fields;
$timeout = undef if $timeout eq '';
my $echo = shift @fields;
my @argv = splice(@fields, 0, shift @fields);
my @events;
for (1 .. shift @fields) {
    my ($pattern, $list, $count) = splice(@fields, 0, 3);
    my $re = eval { qr/$pattern/sa } or done("error invalid pattern $pattern: $@");
    push @events, { re => $re, list => $list, answers => [splice(@fields, 0, $count)], next => 0 };
}

# pexpect's `which`: a name with a slash is taken as it is, else the first executable
# file of that name in $PATH.
sub which {
    my ($name) = @_;
    return (-f $name && -x _) ? $name : undef if $name =~ m{/};
    for my $dir (split /:/, $ENV{PATH} // '', -1) {
        my $path = ($dir eq '' ? '.' : $dir) . "/$name";
        return $path if -f $path && -x _;
    }
    return undef;
}
my $program = @argv ? which($argv[0]) : undef;
done("notfound") unless defined $program;

# A pseudo-terminal from /dev/ptmx: unlocked (TIOCSPTLCK) and numbered (TIOCGPTN).
sysopen(my $master, "/dev/ptmx", O_RDWR | O_NOCTTY) or done("error /dev/ptmx: $!");
my $unlock = pack("i", 0);
ioctl($master, 0x40045431, $unlock) or done("error unlockpt: $!");
my $number = pack("I", 0);
ioctl($master, 0x80045430, $number) or done("error ptsname: $!");
my $slave = "/dev/pts/" . unpack("I", $number);

my $pid = fork() // done("error fork: $!");
if ($pid == 0) {
    close $master;
    POSIX::setsid();
    sysopen(my $tty, $slave, O_RDWR) or POSIX::_exit(127);
    ioctl($tty, 0x540E, 0);    # TIOCSCTTY: the session's controlling terminal
    my $fd = fileno $tty;
    unless ($echo) {
        my $termios = POSIX::Termios->new;
        if ($termios->getattr($fd)) {
            $termios->setlflag($termios->getlflag & ~POSIX::ECHO());
            $termios->setattr($fd, POSIX::TCSANOW());
        }
    }
    my $size = pack("S4", 24, 80, 0, 0);
    ioctl($tty, 0x5414, $size);    # TIOCSWINSZ
    POSIX::dup2($fd, $_) for 0 .. 2;
    POSIX::close($fd) if $fd > 2;
    { no warnings 'exec'; exec { $program } @argv; }
    POSIX::_exit(127);
}

my $buffer = '';
my @result;
my $ending;
my $left = $timeout;
READ: while (1) {
    my ($best, $start, $end);
    for my $i (0 .. $#events) {
        next unless $buffer =~ $events[$i]{re};
        ($best, $start, $end) = ($i, $-[0], $+[0]) if !defined $best || $-[0] < $start;
    }
    if (defined $best) {
        my $matched = substr($buffer, 0, $end);
        $buffer = substr($buffer, $end);
        push @result, $matched;
        my $event = $events[$best];
        my $answer;
        if ($event->{list}) {
            if ($event->{next} >= @{ $event->{answers} }) {
                @result = ($matched);
                $ending = "nomore $best";
                last READ;
            }
            $answer = $event->{answers}[ $event->{next}++ ];
        } else {
            $answer = $event->{answers}[0];
        }
        while (length $answer) {
            my $sent = syswrite($master, $answer);
            last unless defined $sent && $sent > 0;
            $answer = substr($answer, $sent);
        }
        $left = $timeout;
        next READ;
    }
    my $ready = '';
    vec($ready, fileno $master, 1) = 1;
    my ($found, $remaining) = select(my $out = $ready, undef, undef, $left);
    if ($found > 0) {
        my $read = sysread($master, my $data, 65536);
        if (!$read) {
            push @result, $buffer;
            last READ;
        }
        $buffer .= $data;
    } elsif ($found == 0) {
        push @result, $buffer;
        $ending = "timeout";
        last READ;
    }
    $left = $remaining if defined $left && defined $remaining;
}

# pexpect's close(force=True): close the terminal, and a child still running then
# gets SIGHUP, SIGCONT and SIGINT, and SIGKILL at last.
close $master;
select(undef, undef, undef, 0.1);
my $reaped = waitpid($pid, POSIX::WNOHANG());
if ($reaped == 0) {
    kill 'HUP', $pid;
    kill 'CONT', $pid;
    select(undef, undef, undef, 0.1);
    $reaped = waitpid($pid, POSIX::WNOHANG());
    if ($reaped == 0) {
        kill 'INT', $pid;
        select(undef, undef, undef, 0.1);
        $reaped = waitpid($pid, POSIX::WNOHANG());
    }
    if ($reaped == 0) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
}
my $status = $?;
print join('', @result);
done($ending) if defined $ending && $ending ne 'timeout';
done(POSIX::WIFEXITED($status) ? "exit " . POSIX::WEXITSTATUS($status) : "signal " . POSIX::WTERMSIG($status));
