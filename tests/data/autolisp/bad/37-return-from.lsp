;; expect: common-lisp
(defun c:FINDRED (/ ss i)
  (setq ss (ssget "_X") i 0)
  (repeat (sslength ss)
    (if (= 1 (cdr (assoc 62 (entget (ssname ss i)))))
      (return-from c:FINDRED (ssname ss i)))
    (setq i (1+ i)))
  (princ)
)
