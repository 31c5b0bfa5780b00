/* gallery.h: the `gallery` command. */
#ifndef GALLERY_H
#define GALLERY_H

/* argv[0] is "gallery"; returns the process exit status (0, 1 bad input, 2 usage). */
int gallery_main(int argc, char **argv);

#endif
