/* gallery.c: placeholder until the `gallery` command lands. */
#include "gallery.h"

#include <stdio.h>

int gallery_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs("gradcam-study: gallery: not built yet\n", stderr);
    return 2;
}
