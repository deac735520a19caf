#!/usr/bin/env bash
# The studies beyond the bundled chest pair (docs/results/ct.md, brain.md, seeds.md):
#   ct    : the bundled ct-organs pair under the paper's three noises, on the held-out axial
#           slabs of the ONE labelled CT (model-grid slices 14:28 and 55:83, as in training)
#   brain : the bundled brain-mri pair, noise on Colin27's held-out slices 80:100, and the
#           shift Colin27 -> MNI152 (clean), beside the label-definition ceiling
#   seeds : three training seeds of UNet, VQ-UNet and the positional-encoding VQ-UNet on JSRT
#           at 128 px (train them first: scripts/seed_study_train.sh)
#   ms    : the bundled chest-xray set on the 589 Montgomery/Shenzhen radiographs (never trained
#           on), per hospital and pooled -> docs/results/montgomery-shenzhen/
#   ood   : the typicality references of the bundled chest set (fitted on the 99 JSRT training
#           cases; the files shipped as pretrained/weights/chest-xray-*.ood.json) and their AUC
#           against Montgomery/Shenzhen and 20 % Gaussian noise -> docs/results/ood/
#   set   : the whole bundled chest-xray set (UNet, VQ-UNet and both fine-tuned with noise
#           augmentation, the VQ-UNet with a healthy codebook) under
#           the paper's three noises at 0/10/30 % on the 51 held-out noise cases
#           -> docs/results/chest-set/
#   vq    : the matched VQ study, configs/studies/vq-chest128.yaml: trains every missing run
#           (resuming; WORKERS processes side by side, default 1), evaluates each run on the 101
#           held-out JSRT cases and on Montgomery/Shenzhen, writes docs/results/vq-study/
# Needs `make data` (and data/jsrt128, made by seed_study_train.sh). Resumable: every vqseg-eval
# folder is (re-run to continue). Outputs in runs/studies/ (ignored); summaries to docs/results/.
# Usage: bash scripts/reproduce_studies.sh [ct] [brain] [seeds] [ms] [ood] [set] [vq]   (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
OUT=${OUT:-runs/studies}
RES=docs/results
NOISE=(--kinds gaussian salt_and_pepper poisson --levels 0 5 10 20 30 --seed 0 --device cpu --no-progress)
mkdir -p $RES

study_ct() {
  $BIN/vqseg-eval noise data/ct-organs --pair ct-organs --split all --val-slices 14:28 55:83 \
    "${NOISE[@]}" --draws 3 --out $OUT/ct/noise
  mkdir -p $RES/ct
  cp $OUT/ct/noise/table.md $RES/ct/noise_table.md
  cp $OUT/ct/noise/cases.csv $RES/ct/noise_cases.csv
  cp $OUT/ct/noise/plots/*.png $RES/ct/
  $BIN/python scripts/class_tables.py $OUT/ct/noise > $RES/ct/noise_classes.md
}

study_brain() {
  $BIN/vqseg-eval noise data/brain-colin27 --pair brain-mri --split all --val-slices 80:100 \
    "${NOISE[@]}" --draws 3 --out $OUT/brain/noise
  $BIN/vqseg-eval shift --in-domain data/brain-colin27 --split all --val-slices 80:100 \
    --shifted data/brain-mni152 --pair brain-mri --device cpu --no-progress --out $OUT/brain/shift
  $BIN/python scripts/brain_label_ceiling.py > $OUT/brain/ceiling.md
  mkdir -p $RES/brain
  cp $OUT/brain/noise/table.md $RES/brain/noise_table.md
  cp $OUT/brain/noise/cases.csv $RES/brain/noise_cases.csv
  cp $OUT/brain/noise/plots/*.png $RES/brain/
  $BIN/python scripts/class_tables.py $OUT/brain/noise > $RES/brain/noise_classes.md
  cp $OUT/brain/shift/table.md $RES/brain/shift_table.md
  cp $OUT/brain/shift/shift.csv $RES/brain/shift_cases.csv
  cp $OUT/brain/ceiling.md $RES/brain/ceiling.md
  $BIN/python scripts/brain_pipeline_check.py > $RES/brain/pipeline_check.md
}

# 51 held-out (even) JSRT cases, as in reproduce_results.sh; latent on 10 of them
source scripts/chest_cases.sh

study_seeds() {
  local noise_runs=() latent_runs=() shift_runs=()
  for seed in ${SEEDS:-1 2 3}; do
    for variant in vqunet vqpe; do
      local u=runs/seeds/chest128-unet-s$seed/chest128-unet-s$seed.json
      local v=runs/seeds/chest128-$variant-s$seed/chest128-$variant-s$seed.json
      [ -f "$u" ] && [ -f "$v" ] || { echo "seeds: $v or $u not trained yet, skipped" >&2; continue; }
      local o=$OUT/seeds/$variant-s$seed
      $BIN/vqseg-eval noise data/jsrt128 --unet "$u" --vqunet "$v" --cases $NOISE_CASES \
        "${NOISE[@]}" --draws 2 --out $o/noise
      $BIN/vqseg-eval latent data/jsrt128 --unet "$u" --vqunet "$v" --cases $LATENT_CASES \
        --kinds gaussian salt_and_pepper poisson --levels 0 10 30 --draws 10 --seed 0 \
        --device cpu --no-progress --out $o/latent
      $BIN/vqseg-eval shift --in-domain data/jsrt128 --split val --split-method parity \
        --shifted data/shenzhen --unet "$u" --vqunet "$v" --device cpu --no-progress --out $o/shift
      noise_runs+=(--noise "$variant:$seed:$o/noise")
      latent_runs+=(--latent "$variant:$seed:$o/latent")
      shift_runs+=(--shift "$variant:$seed:$o/shift")
    done
  done
  $BIN/vqseg-eval seeds "${noise_runs[@]}" "${latent_runs[@]}" "${shift_runs[@]}" \
    --label vqunet=VQ-UNet --label "vqpe=VQ-UNet (PE bug)" --out $RES/seeds
}

study_ms() {
  [ -f data/montgomery_shenzhen/dataset.json ] || $BIN/vqseg-data prepare montgomery_shenzhen \
    --source ${SHARED:-../shared/data}/montgomery_shenzhen --out data/montgomery_shenzhen --quiet
  $BIN/vqseg-eval shift --in-domain data/jsrt --shifted data/montgomery_shenzhen --set chest-xray \
    --device cpu --no-progress --out $OUT/montgomery-shenzhen
  mkdir -p $RES/montgomery-shenzhen
  cp $OUT/montgomery-shenzhen/table.md $RES/montgomery-shenzhen/table.md
  cp $OUT/montgomery-shenzhen/shift.csv $RES/montgomery-shenzhen/cases.csv
}

study_ood() {
  $BIN/vqseg-eval ood data/jsrt --set chest-xray --shifted data/montgomery_shenzhen \
    --corrupt gaussian 20 --device cpu --no-progress --out $OUT/ood
  mkdir -p $RES/ood
  cp $OUT/ood/table.md $RES/ood/table.md
}

study_set() {
  [ -f data/jsrt256/dataset.json ] || $BIN/vqseg-data prepare jsrt \
    --source ${SHARED:-../shared/data}/jsrt_scr --size 256 --out data/jsrt256 --quiet
  source scripts/chest_cases.sh
  $BIN/vqseg-eval noise data/jsrt256 --set chest-xray --cases $NOISE_CASES \
    --kinds gaussian salt_and_pepper poisson --levels 0 10 30 --draws 2 --seed 0 \
    --device cpu --no-progress --out $OUT/chest-set/noise
  mkdir -p $RES/chest-set
  cp $OUT/chest-set/noise/table.md $RES/chest-set/noise_table.md
  cp $OUT/chest-set/noise/cases.csv $RES/chest-set/noise_cases.csv
  $BIN/python scripts/class_tables.py $OUT/chest-set/noise > $RES/chest-set/noise_classes.md
}

study_vq() {
  local spec=configs/studies/vq-chest128.yaml out=${VQ_OUT:-runs/studies/vq}
  [ -f data/jsrt128/dataset.json ] || $BIN/vqseg-data prepare jsrt \
    --source ${SHARED:-../shared/data}/jsrt_scr --size 128 --out data/jsrt128 --quiet
  [ -f data/montgomery_shenzhen/dataset.json ] || $BIN/vqseg-data prepare montgomery_shenzhen \
    --source ${SHARED:-../shared/data}/montgomery_shenzhen --out data/montgomery_shenzhen --quiet
  local pids=()
  for _ in $(seq 2 ${WORKERS:-1}); do
    $BIN/vqseg-study train $spec --out $out & pids+=($!)
  done
  $BIN/vqseg-study train $spec --out $out
  for pid in "${pids[@]}"; do wait "$pid"; done
  $BIN/vqseg-study evaluate $spec --out $out
  $BIN/vqseg-study summary $spec --out $out --to $RES/vq-study
}

for study in ${@:-ct brain seeds ms ood set vq}; do
  echo "== $study" >&2
  time study_$study
done
