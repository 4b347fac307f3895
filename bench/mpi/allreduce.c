/* Open MPI's own all-reduce figure, for `Strata.Benchmarks allreduce` to be compared with (the same sizes,
 * the same table). Build and run (OSU's osu_allreduce is the usual tool; this is its core loop):
 *   mpicc -O2 -o /tmp/allreduce bench/mpi/allreduce.c
 *   mpirun -np 2 --allow-run-as-root --oversubscribe /tmp/allreduce [seconds per size] [bytes...]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    double seconds = argc > 1 ? atof(argv[1]) : 0.5;
    long defaults[] = {4096, 65536, 1 << 20, 4 << 20, 16 << 20};
    int nsizes = argc > 2 ? argc - 2 : 5;
    if (rank == 0) {
        printf("All-reduce (sum of float32) over %d ranks, Open MPI from C (bench/mpi/allreduce.c)\n\n", size);
        printf("| bytes | iterations | µs per call | algbw GB/s | busbw GB/s |\n| ---: | ---: | ---: | ---: | ---: |\n");
    }
    for (int s = 0; s < nsizes; s++) {
        long bytes = argc > 2 ? atol(argv[s + 2]) : defaults[s];
        int count = bytes / 4 > 0 ? (int)(bytes / 4) : 1;
        float *send = malloc(sizeof(float) * count), *recv = malloc(sizeof(float) * count);
        for (int i = 0; i < count; i++)
            send[i] = 1.0f;
        for (int i = 0; i < 5; i++)
            MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < 10; i++)
            MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double iters = seconds / ((MPI_Wtime() - t0) / 10 > 1e-7 ? (MPI_Wtime() - t0) / 10 : 1e-7);
        iters = iters < 10 ? 10 : iters > 100000 ? 100000 : iters;
        MPI_Bcast(&iters, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        int n = (int)iters;
        MPI_Barrier(MPI_COMM_WORLD);
        t0 = MPI_Wtime();
        for (int i = 0; i < n; i++)
            MPI_Allreduce(send, recv, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double per = (MPI_Wtime() - t0) / n, worst;
        MPI_Allreduce(&per, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (recv[0] != (float)size) {
            fprintf(stderr, "allreduce: expected %d, got %f\n", size, recv[0]);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (rank == 0) {
            double real = (double)count * 4, alg = real / worst / 1e9;
            printf("| %.0f | %d | %.1f | %.3f | %.3f |\n", real, n, worst * 1e6, alg, alg * 2 * (size - 1) / size);
        }
        free(send);
        free(recv);
    }
    MPI_Finalize();
    return 0;
}
