package locallearn.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Milestones in epochs (the reference's) and in percent (ours), and the step schedule they make. */
class LrMilestonesTest {
    @Test void percentagesRoundDownToEpochsOfTheRun() {
        LrMilestones p = LrMilestones.percent(50, 75, 89, 94);
        assertArrayEquals(new int[] {200, 300, 356, 376}, p.epochsOf(400)); // floor(400 * p / 100)
        assertArrayEquals(new int[] {50, 75, 89, 94}, p.epochsOf(100));
        assertArrayEquals(new int[] {1, 1, 1, 1}, p.epochsOf(2));          // all four land on epoch 1, each decays once
        assertArrayEquals(new int[0], p.epochsOf(1));                      // epoch 0 would only shrink the starting lr
    }

    @Test void epochsAreTakenAsGiven() {
        assertArrayEquals(new int[] {200, 300, 350, 375}, LrMilestones.epochs(200, 300, 350, 375).epochsOf(400));
    }

    @Test void scheduleIsTheReferencesBisectRight() {
        // train.py: lr * fact ** bisect_right(milestones, epoch - 1) for epochs 1..N; our epochs count from 0
        LrSchedule s = new LrSchedule(1f, LrMilestones.epochs(50, 75, 89, 94).epochsOf(100), 0.5f);
        assertEquals(1f, s.at(0));
        assertEquals(1f, s.at(49));
        assertEquals(0.5f, s.at(50));
        assertEquals(0.25f, s.at(75));
        assertEquals(0.125f, s.at(89));
        assertEquals(0.0625f, s.at(94));
        assertEquals(0.0625f, s.at(99));
    }

    @Test void badMilestonesAreRefusedWithTheirValues() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LrMilestones.epochs(50, 40)).getMessage().contains("must increase, got epochs 50 40"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LrMilestones.epochs(50, 50)).getMessage().contains("must increase"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LrMilestones.epochs(0, 5)).getMessage().contains("epoch >= 1, got 0"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LrMilestones.percent(50, 100)).getMessage().contains("1..99, got 100"));
        String beyond = assertThrows(IllegalArgumentException.class, () -> LrMilestones.epochs(5, 10).epochsOf(10)).getMessage();
        assertTrue(beyond.contains("milestone 10 is not before the run's last epoch (epochs 10)") && beyond.contains("--lr-decay-percent"), beyond);
    }

    @Test void equalWhenKindAndValuesAgree() {
        assertEquals(LrMilestones.percent(50, 75), LrMilestones.percent(50, 75));
        assertTrue(!LrMilestones.percent(50, 75).equals(LrMilestones.epochs(50, 75)));
        assertEquals("epochs 50 75", LrMilestones.epochs(50, 75).toString());
        assertEquals("50 75 percent of the epochs", LrMilestones.percent(50, 75).toString());
    }
}
