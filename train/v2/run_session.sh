#!/bin/sh
# One background training session of emoji-var-v2: stages in order, niced, one thread, logs in train/runs/v2/.
#   setsid nohup sh train/v2/run_session.sh 60 90 >/dev/null 2>&1 &
# $1 = vqvae minutes (0 to skip), $2 = var minutes (0 to skip). Each call resumes from train/runs/v2/<stage>.pt,
# else from train/v2/checkpoint.pt. glibc malloc without mmap/trim: the attention step re-allocates ~100 MB
# buffers every layer, and returning them to the kernel each time costs as much system time as the maths.
cd "$(dirname "$0")/../.." || exit 1
mkdir -p train/runs/v2
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=268435456 OMP_NUM_THREADS=1
VQ=${1:-60}; VAR=${2:-90}
if [ "$VQ" != 0 ]; then
  nice -n 19 /usr/bin/python3 train/train_v2.py vqvae --minutes "$VQ" --threads 1 >> train/runs/v2/vqvae.log 2>&1
fi
if [ "$VAR" != 0 ]; then
  nice -n 19 /usr/bin/python3 train/train_v2.py var --minutes "$VAR" --threads 1 >> train/runs/v2/var.log 2>&1
fi
echo "$(date +%T) session done" >> train/runs/v2/var.log
