;; expect: misspelled-builtin
(defun c:NSEL (/ ss)
  (if (setq ss (ssget))
    (princ (itoa (sslenght ss))))
  (princ)
)
