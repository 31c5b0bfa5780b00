/* frame.c: the frame of REPORT.md: the opening sections, the call of each
 * question in order, the limitations and the recipe for other data.
 *
 * DESIGN
 * Pure text generation into a stream (report.c passes an open_memstream
 * buffer; no file I/O here): the title and contents, the question, method
 * and data (the inputs table, the test mAP of the training records, the
 * gallery links), protocol and conventions; then questions 1 to 3
 * (q1_q3.c), 4 and 5 and the closing findings (q4_q5.c); then the
 * limitations and how to run the study on ImageNet or VOC.
 * Issue 13: "The answer in brief" (brief.c) comes first, Question 6 (q6.c)
 * after Question 5, and an Appendix at the end holds the long per-variant
 * tables and per-input figures (rp_q1_q3_appendix, rp_q5_appendix,
 * rp_q6_appendix), so the body keeps about one table and one figure per
 * question.
 * Every number printed comes from the model (model.c) and goes through the
 * formats of text.c; the paper's and TorchRay's published numbers are the
 * only ones typed, and are quoted as theirs.
 * Deterministic: no dates, no timings, no host names, no versions.
 * Arrows: frame -> brief, q1_q3, q4_q5, q6 -> text -> model; nothing calls back here.
 *
 * Thread safety: pure; the stream passed in is the caller's.
 */
#include "pipeline/report/frame.h"

#include "pipeline/report/brief.h"
#include "pipeline/report/q1_q3.h"
#include "pipeline/report/q4_q5.h"
#include "pipeline/report/q6.h"
#include "pipeline/report/text.h"


#include <stdio.h>
#include <string.h>

/* TorchRay's pointing tolerance and the photo size it was chosen for. */
#define TORCHRAY_TOL_PX 15.0
#define TORCHRAY_PHOTO_PX 500.0

static void question(FILE *md, const rp_study *st)
{
    (void)st;
    fprintf(md,
        "## The question\n\n"
        "Grad-CAM weighs each channel `A^k` of a convolutional layer by `alpha_k`, the mean "
        "gradient of the class score over the channel, sums, and keeps only the positive part: "
        "`ReLU(sum_k alpha_k A^k)`. Two things in that formula are taken on trust. First, the "
        "ReLU: the paper says negative values \"are likely to belong to other categories\" and "
        "that without the ReLU localization gets worse. Second, activation strength: a pixel "
        "counts in proportion to how strongly the channel fires there, as if zero meant "
        "\"nothing here\".\n\n"
        "A skeptic has two replies. A bias term can move where zero is without changing what "
        "the network computes, so the sign of `A` (and of the map) need not mean anything. And "
        "a negative weight times a negative activation is positive: on a layer whose "
        "activations can be negative, the map's positive evidence may come from channels that "
        "are *strongly negative* where the object is.\n\n"
        "This report measures both claims on every network and tapped layer in the summary, "
        "through six questions: (1) does the ReLU help localization, and through which "
        "mechanism; (2) does negative evidence sit on other categories' objects; (3) where "
        "the map's mass comes from in the sign table of `alpha x A`; (4) whether Grad-CAM is "
        "invariant to a function-preserving shift of `A`; (5) where Grad-CAM stands among "
        "its variants; (6) what removing the map's cells does to the network's score "
        "(deletion and insertion through the network, the claim test).\n\n");
}

/* For inputs written by the torchvision exporter: image names and what the
 * export lost (only when the summary has them, so other reports keep their
 * bytes). */
static void provenance_notes(FILE *md, const rp_study *st)
{
    static const char *const label[H5IN_NEXPORT] = {
        "boxes cropped away", "boxes clipped to their image", "inverted or empty boxes",
        "boxes outside their image", "objects of classes not in the classes file",
        "images skipped"};
    int any = 0;
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        int nexp = 0;
        for (int k = 0; k < H5IN_NEXPORT; k++)
            nexp += in->export_count[k] >= 0;
        if (!in->images_named && !nexp)
            continue;
        any = 1;
        fprintf(md, "- `%s`:", in->stem);
        if (in->images_named)
            fprintf(md, " the %ld images carry their file names (`/images/name`; the "
                        "`image_name` column of targets.csv, the gallery's captions).",
                    in->images_named);
        if (nexp) {
            fprintf(md, " The export recorded");
            for (int k = 0, j = 0; k < H5IN_NEXPORT; k++)
                if (in->export_count[k] >= 0)
                    fprintf(md, "%s %ld %s", j++ ? "," : "", in->export_count[k], label[k]);
            fprintf(md, " (README, the exporter's named problems).");
        }
        fprintf(md, "\n");
    }
    if (any)
        fprintf(md, "\n");
}

/* EigenCAM's sign rule in one number per input: how often it negated the
 * singular vector LAPACK returned (the sign of a principal component is
 * arbitrary; pytorch-grad-cam leaves it so). Only when the summary has it. */
static void eig_flips(FILE *md, const rp_study *st)
{
    int any = 0;
    for (int i = 0; i < st->n; i++)
        any |= st->in[i].eig_images > 0;
    if (!any)
        return;
    fprintf(md, "EigenCAM's sign: a principal component's sign is arbitrary, so without a rule "
                "a map and its negative are equally valid outputs. The rule above negated the "
                "vector LAPACK's dsyevr returned (another routine's sign gives other counts for the "
                "same maps) on");
    const char *sep = " ";
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        if (in->eig_images <= 0)
            continue;
        fprintf(md, "%s%ld of %ld images (%.1f%%, `%s`)", sep, in->eig_flips, in->eig_images,
                100.0 * (double)in->eig_flips / (double)in->eig_images, in->stem);
        sep = "; ";
    }
    fprintf(md, ".\n\n");
}


static void method(FILE *md, const rp_study *st)
{
    char x[RP_NUM], y[RP_NUM];
    fprintf(md,
        "## Method and data\n\n"
        "The engine (`gradcam-study run`) reads, per input file, the activations `A` of one "
        "layer and the gradients `G = dy^c/dA` of each target's class score (before any "
        "softmax or sigmoid), computes every map below at feature resolution, upsamples it "
        "bilinearly to the image, and scores it against the ground-truth boxes of the "
        "target's class. The maps (`alpha_k` = mean of `G^k` over positions):\n\n"
        "| variant | map |\n|---|---|\n"
        "| `gradcam` | `ReLU(sum_k alpha_k A^k)`, the paper |\n"
        "| `gradcam-signed` | `sum_k alpha_k A^k`, no ReLU |\n"
        "| `counterfactual` | `ReLU(-sum_k alpha_k A^k)`, the paper's section 7 |\n"
        "| `gradcam-absgrad` | weights `mean_ij abs(G^k)`, the paper's ablation |\n"
        "| `gradcam-centered` | `ReLU(sum_k alpha_k (A^k - mu_k))`, `mu_k` the channel mean "
        "over the file |\n"
        "| `activation` | `ReLU(sum_k A^k)`: activation strength alone |\n"
        "| `gradient` | `ReLU(sum_k G^k)`: gradients alone |\n"
        "| `hirescam`, `hirescam-signed` | `sum_k G^k * A^k`, with and without ReLU |\n"
        "| `layercam` | `ReLU(sum_k ReLU(G^k) * A^k)` |\n"
        "| `xgradcam` | `ReLU(sum_k w_k A^k)`, `w_k = sum G*A / sum A` |\n"
        "| `gradcam++` | `ReLU(sum_k w_k A^k)`, pytorch-grad-cam's weights |\n");
    /* the variants added later, only when the summary has them (older summaries
       give the same REPORT.md as before) */
    int has_ew = 0, has_eig = 0;
    for (int i = 0; i < st->n; i++) {
        has_ew |= st->in[i].var[CAM_ELEMENTWISE].present;
        has_eig |= st->in[i].var[CAM_EIGENCAM].present;
    }
    if (has_ew)
        fprintf(md, "| `gradcam-elementwise` | `ReLU(sum_k ReLU(G^k * A^k))` (pytorch-grad-cam's "
                    "GradCAMElementWise) |\n");
    if (has_eig)
        fprintf(md, "| `eigencam` | `ReLU(X v)`: `X` the image's activations (cells x channels) "
                    "centred per channel, `v` its first principal component, signed so that its "
                    "largest component is positive; no gradient, one map per image "
                    "(pytorch-grad-cam's EigenCAM) |\n");
    fprintf(md, "| `saliency` | the input gradient given in the file, at image resolution |\n\n");
    eig_flips(md, st);
    fprintf(md,
        "### Inputs (one network and one tapped layer each)\n\n"
        "| input | network | layer | activation | dataset | images | targets scored (of all) "
        "| boxes | feature map K x h x w | dtype A / G | test mAP |\n"
        "|---|---|---|---|---|---:|---:|---:|---|---|---:|\n");
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        if (in->has_map)
            rp_fixed(x, in->test_map, 3);
        else
            strcpy(x, "n/a");
        fprintf(md, "| `%s` | `%s` | `%s` | %s | %s | %ld | %ld (%ld) | %ld | %ld x %ld x %ld "
                    "| %s / %s | %s |\n",
                in->stem, in->model, in->layer, in->activation, in->dataset, in->images,
                in->targets_scored, in->targets, in->boxes, in->channels, in->height,
                in->width, in->dtype_a, in->dtype_g, x);
    }
    fprintf(md, "\n");
    provenance_notes(md, st);
    if (!st->models_given) {
        fprintf(md, "The test mAP is not available: the report was run without `--models` "
                    "(the training records).\n\n");
    } else {
        fprintf(md, "Test mAP: from the training record `MODEL.json` of each network "
                    "(`scripts/train.py`, key `test.map`).");
        for (int i = 0; i < st->n; i++) {
            const rp_input *in = &st->in[i];
            if (in->map_note)
                fprintf(md, " For `%s` it is not available (%s).", in->stem, in->map_note);
            else if (in->has_val)
                fprintf(md, " `%s`: validation mAP %s, test mAP %s.", in->stem,
                        rp_fixed(x, in->val_map, 3), rp_fixed(y, in->test_map, 3));
        }
        fprintf(md, "\n\n");
    }
    if (st->models_md_link)
    {
        fprintf(md, "The networks, their training and per-class AP are described in "
                    "[data/MODELS.md]");
        rp_href(md, st->models_md_link);
        fprintf(md, ".\n\n");
    }
    for (int i = 0; i < st->n; i++)
        if (st->in[i].nunknown)
            fprintf(md, "`%s` holds %d variant(s) this report does not know; they are left "
                        "out.\n\n", st->in[i].stem, st->in[i].nunknown);
    int any = 0;
    for (int i = 0; i < st->n; i++)
        any |= st->in[i].gallery != NULL;
    if (any) {
        fprintf(md, "### Example maps\n\n");
        for (int i = 0; i < st->n; i++)
            if (st->in[i].gallery) {
                fprintf(md, "`%s`:\n\n![examples of maps for %s]", st->in[i].stem,
                        st->in[i].stem);
                rp_href(md, st->in[i].gallery);
                fprintf(md, "\n\n");
            }
    }
}

static int same_protocol(const rp_study *st)
{
    for (int i = 1; i < st->n; i++) {
        const rp_input *a = &st->in[0], *c = &st->in[i];
        if (a->threshold != c->threshold || a->tolerance != c->tolerance || a->iou != c->iou ||
            a->nthr != c->nthr || a->resamples != c->resamples || a->seed != c->seed ||
            strcmp(a->unit, c->unit) != 0)
            return 0;
    }
    return 1;
}

static void protocol_line(FILE *md, const rp_input *in)
{
    char t[RP_NUM], tol[RP_NUM], side[RP_NUM], iou[RP_NUM];
    fprintf(md, "- Box threshold **%s** of the normalised map for BoxAcc (MaxBoxAcc searches "
                "%ld thresholds `i / %ld`); a box is correct at IoU >= %s.\n",
            rp_fixed(t, in->threshold, 2), in->nthr, in->nthr, rp_fixed(iou, in->iou, 2));
    snprintf(tol, sizeof tol, "%g", in->tolerance);
    snprintf(side, sizeof side, "%.0f", in->tolerance * TORCHRAY_PHOTO_PX / TORCHRAY_TOL_PX);
    fprintf(md, "- Pointing tolerance **%s px** (`protocol.tolerance`). TorchRay's %g px was "
                "chosen for photos about %g px across; %s px is the same fraction of a frame "
                "about %s px across.\n",
            tol, TORCHRAY_TOL_PX, TORCHRAY_PHOTO_PX, tol, side);
    if (in->resamples >= 2)
        fprintf(md, "- Intervals: 95%% percentile bootstrap, %ld resamples of the %s (with all "
                    "its targets), seed %ld; paired comparisons resample both variants "
                    "together.\n", in->resamples, in->unit, in->seed);
    else
        fprintf(md, "- Intervals: none (the run had `--bootstrap %ld`); readings that need an "
                    "interval say so.\n", in->resamples);
}

static void protocol(FILE *md, const rp_study *st)
{
    fprintf(md, "## Protocol and conventions\n\n");
    if (same_protocol(st)) {
        fprintf(md, "Every input was scored with the same protocol:\n\n");
        protocol_line(md, &st->in[0]);
    } else {
        for (int i = 0; i < st->n; i++) {
            fprintf(md, "Protocol of `%s`:\n\n", st->in[i].stem);
            protocol_line(md, &st->in[i]);
            fprintf(md, "\n");
        }
    }
    fprintf(md,
        "- Normalisation: every box metric (BoxAcc, MaxBoxAcc, MaxBoxAccV2, the IoU between "
        "two variants' boxes) is given with its normalisation named: `max` (`m / max m`, the "
        "paper's \"15%% of the max\") or `minmax` (`(m - min) / (max - min)`, what "
        "pytorch-grad-cam and the original code's display do). Pointing (the argmax), energy "
        "(the share of positive mass inside the class's boxes) and the evidence enrichments "
        "do not depend on the normalisation.\n"
        "- Maps are thresholded at image resolution after bilinear upsampling (half-pixel "
        "centres, as `cv2.resize`). A map with no positive value, or a constant map, is "
        "degenerate: it counts as a miss everywhere and stays in every denominator.\n"
        "- Percentages are shares of scored targets; differences are in percentage points, "
        "always *Grad-CAM minus the other variant* (positive = Grad-CAM higher). Brackets "
        "are 95%% intervals. Discordant targets: *a only* = hit by Grad-CAM only, *b only* "
        "= hit by the other variant only; p from McNemar's exact two-sided test.\n"
        "- MaxBoxAcc and MaxBoxAccV2 intervals choose the threshold inside each resample (the "
        "best of the 100 thresholds on the resampled images), so the variability of that "
        "choice is in them.\n\n"
        "Reading rules used below, applied mechanically: a difference whose interval "
        "excludes 0 is a detected difference (its sign says which side); an interval that "
        "includes 0 means no difference was detected (not that there is none). An enrichment "
        "above 1 with its interval above 1 means the mass concentrates on the region; an "
        "interval that includes 1 means no preference was detected. Two values from "
        "separate intervals are called different only when the intervals do not overlap "
        "(a conservative test).\n\n");
}

static void limitations(FILE *md, const rp_study *st)
{
    fprintf(md, "## Limitations\n\n");
    long minh = st->in[0].height, minw = st->in[0].width, maxn = 0, minn = st->in[0].images;
    for (int i = 0; i < st->n; i++) {
        const rp_input *in = &st->in[i];
        if (in->height * in->width < minh * minw)
            minh = in->height, minw = in->width;
        if (in->images > maxn)
            maxn = in->images;
        if (in->images < minn)
            minn = in->images;
    }
    fprintf(md,
        "- Small images and coarse maps: the smallest feature map here is %ld x %ld cells, so "
        "one cell covers a large part of an object, bilinear upsampling does much of the "
        "drawing, and a box threshold moves boxes in large steps.\n"
        "- Own networks on own data: the inputs come from the datasets named in the table "
        "above (%ld to %ld images per input). Networks trained on small synthetic scenes may "
        "use features unlike an ImageNet VGG-16's; the paper's numbers are on ILSVRC.\n"
        "- Our BoxAcc explains the ground-truth class of each target; the paper's "
        "localization error also counts classification mistakes. The differences compare, "
        "not the levels.\n"
        "- One tapped layer per input; the sign-table sums add over all targets, so large "
        "maps and large magnitudes weigh more than small ones.\n"
        "- Many comparisons are made: at 95%% about one in twenty intervals excludes 0 by "
        "chance when nothing differs.\n\n", minh, minw, minn, maxn);
}

static void elsewhere(FILE *md)
{
    fprintf(md,
        "## Running the same study on ImageNet or VOC\n\n"
        "`scripts/export_torchvision.py` writes the engine's input from any torchvision "
        "classifier, a folder of images and Pascal VOC-style XML boxes (ILSVRC's val boxes "
        "use the same format): it resizes and centre-crops the images, hooks the named "
        "layer, and backpropagates each present class's logit. Export the same layer before "
        "and after its ReLU to repeat the tap comparison, run the engine on both, and write "
        "this report. For VOC, use a classifier with VOC's classes (your own weights, "
        "`--num-classes 20`, a classes file `NAME INDEX`). TorchRay's 15 px tolerance fits "
        "the original photos; on a crop of `C` px the same fraction is `15 x C / 500` px.\n\n"
        "```sh\n"
        "# ILSVRC-2012 val, VGG-16 (weights and boxes copied by hand; nothing is downloaded)\n"
        "/usr/bin/python3 scripts/export_torchvision.py --arch vgg16 --weights vgg16-397923af.pth \\\n"
        "    --layer features.29 --images val/ --annotations val_xml/ --classes wnids.txt \\\n"
        "    --resize 256 --crop 224 --limit 2000 -o data/ilsvrc/vgg16-post.h5\n"
        "/usr/bin/python3 scripts/export_torchvision.py --arch vgg16 --weights vgg16-397923af.pth \\\n"
        "    --layer features.28 --images val/ --annotations val_xml/ --classes wnids.txt \\\n"
        "    --resize 256 --crop 224 --limit 2000 -o data/ilsvrc/vgg16-pre.h5\n"
        "# tolerance: 15 x 224 / 500 px, rounded\n"
        "bin/gradcam-study run -o out/ilsvrc --tolerance 7 data/ilsvrc/vgg16-post.h5 "
        "data/ilsvrc/vgg16-pre.h5\n"
        "bin/gradcam-study report --out out/ilsvrc/REPORT.md --figures out/ilsvrc/figures \\\n"
        "    out/ilsvrc/summary.json\n"
        "```\n\n"
        "A and G of a VGG-16 layer take memory for every target, hence `--limit` (a subset of "
        "the val set); see the exporter's `--help` for the box conventions (1-based VOC "
        "pixel indices by default).\n");
}

int rp_write_markdown(FILE *md, const rp_study *st)
{
    fprintf(md, "# What Grad-CAM's ReLU does, and why it trusts activation strength\n\n"
                "Generated by `gradcam-study report` from [`%s`]", st->summary_link);
    rp_href(md, st->summary_link);
    fprintf(md, ". Every number below is "
                "read from that file (or from the training records); the only numbers typed "
                "in are the Grad-CAM paper's and TorchRay's published ones, quoted as theirs "
                "(and the options of the command sketch at the end)."
                "\n\n"
                "Contents: the answer in brief; the question; method and data; protocol and "
                "conventions; questions 1 to 6; what the numbers say and do not say; "
                "limitations; running the study on ImageNet or VOC; appendix.\n\n");
    rp_brief(md, st);
    question(md, st);
    method(md, st);
    protocol(md, st);
    rp_q1(md, st);
    rp_q2(md, st);
    rp_q3(md, st);
    rp_q4(md, st);
    rp_q5(md, st);
    rp_q6(md, st);
    rp_findings(md, st);
    limitations(md, st);
    elsewhere(md);
    fprintf(md, "\n## Appendix\n\n");
    fprintf(md, "The long tables and per-input figures the questions refer to.\n\n");
    rp_q1_q3_appendix(md, st);
    rp_q5_appendix(md, st);
    rp_q6_appendix(md, st);
    return ferror(md) ? -1 : 0;
}

