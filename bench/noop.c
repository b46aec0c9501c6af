/* noop: the exec floor of `make bench`. Installed setuid root, run by the
 * bench user: what any setuid helper pays before doing anything (fork, exec,
 * the kernel's setuid handling, the dynamic loader, libc start-up, exit). */
int main(void)
{
	return 0;
}
